"""The book's API reference (book/api.md) covers every module, function and class of mmtutorial."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import mmtutorial

API_PAGE = Path(__file__).resolve().parent.parent / "book" / "api.md"
MODULES = sorted(
    info.name for info in pkgutil.iter_modules(mmtutorial.__path__) if not info.name.startswith("_")
)
# Documented name by name, in sections, rather than by one automodule :members: listing.
DOCUMENTED_BY_NAME = {"tf_nn"}


def documented_modules() -> set[str]:
    """Modules with an (uncommented) automodule directive on the API page."""
    return set(re.findall(r"^\.\. automodule:: mmtutorial\.(\w+)", API_PAGE.read_text(), re.M))


def public_names(module_name: str) -> list[str]:
    """What autodoc lists: ``__all__`` if the module has one, else its own public names."""
    module = importlib.import_module(f"mmtutorial.{module_name}")
    return getattr(module, "__all__", None) or [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]


def test_api_page_documents_every_module():
    missing = sorted(set(MODULES) - documented_modules())
    assert missing == [], (
        f"book/api.md has no `.. automodule::` for mmtutorial.{', mmtutorial.'.join(missing)}: "
        "add one (or remove the `% ` comment marks of its section)"
    )


def test_every_public_name_has_one_import_path_and_no_excluded_members():
    page = API_PAGE.read_text()
    assert ":exclude-members:" not in page  # one import path per name: nothing re-exported
    seen: dict[int, str] = {}
    for module_name in MODULES:
        module = importlib.import_module(f"mmtutorial.{module_name}")
        for name in public_names(module_name):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                where = f"mmtutorial.{module_name}.{name}"
                assert id(obj) not in seen, f"{where} is also {seen[id(obj)]}"
                seen[id(obj)] = where


@pytest.mark.parametrize("module_name", sorted(DOCUMENTED_BY_NAME))
def test_modules_documented_by_name_document_every_public_name(module_name):
    directives = set(
        re.findall(
            rf"^\.\. (?:autoclass|autofunction|py:data):: mmtutorial\.{module_name}\.(\w+)",
            API_PAGE.read_text(),
            re.M,
        )
    )
    assert sorted(set(public_names(module_name)) - directives) == []


@pytest.mark.parametrize("module_name", MODULES)
def test_public_functions_and_classes_have_docstrings(module_name):
    module = importlib.import_module(f"mmtutorial.{module_name}")
    undocumented = [
        name
        for name in public_names(module_name)
        if (inspect.isfunction(obj := getattr(module, name)) or inspect.isclass(obj))
        and not inspect.getdoc(obj)
    ]
    assert undocumented == [], f"mmtutorial.{module_name}: no docstring for {undocumented}"
