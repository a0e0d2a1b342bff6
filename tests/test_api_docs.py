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
# Modules that import TensorFlow are still documented, but are imported here only if present.
MODULES = sorted(
    info.name for info in pkgutil.iter_modules(mmtutorial.__path__) if not info.name.startswith("_")
)


def documented_modules() -> set[str]:
    """Modules with an (uncommented) automodule directive on the API page."""
    return set(re.findall(r"^\.\. automodule:: mmtutorial\.(\w+)", API_PAGE.read_text(), re.M))


# Programs run as ``python -m mmtutorial.<name>`` (through a make target), not imported.
COMMANDS = {"bench"}


def test_api_page_documents_every_module():
    missing = sorted(set(MODULES) - COMMANDS - documented_modules())
    assert missing == [], (
        f"book/api.md has no `.. automodule::` for mmtutorial.{', mmtutorial.'.join(missing)}: "
        "add one (or remove the `% ` comment marks of its section)"
    )


@pytest.mark.parametrize("module_name", MODULES)
def test_public_functions_and_classes_have_docstrings(module_name):
    module = importlib.import_module(f"mmtutorial.{module_name}")
    # What autodoc lists: __all__ if the module has one, else its own public names.
    names = getattr(module, "__all__", None) or [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]
    undocumented = [
        name
        for name in names
        if (inspect.isfunction(obj := getattr(module, name)) or inspect.isclass(obj))
        and not inspect.getdoc(obj)
    ]
    assert undocumented == [], f"mmtutorial.{module_name}: no docstring for {undocumented}"
