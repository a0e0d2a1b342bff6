"""Test-wide settings: property-based tests are derandomised so CI runs the same examples as you.

``HYPOTHESIS_PROFILE=stress pytest tests/test_numpy_nn.py`` explores many more random examples.
"""

import os

import pytest
from hypothesis import settings

settings.register_profile("book", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("stress", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))


# The longest test files (a few minutes each, mostly waiting on installs and other processes),
# started first: make unit runs files on two workers (--dist loadfile), and one of these started
# last would leave the other worker idle until it ends.
LONGEST_FIRST = ("test_release.py", "test_distributed.py")


def pytest_collection_modifyitems(config, items):
    """Order the files (LONGEST_FIRST), and group the browser check's tests by page.

    The browser check runs on two workers (``make browser``: ``-n 2 --dist loadgroup``), with
    every check of one page in the worker that loaded it, so no page is loaded twice for the
    same width: a test's group is its page (``name``), or the front page of its edition."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: else as collected
    for item in items:
        if item.path.name != "test_site.py":
            continue
        params = getattr(item, "callspec", None)
        params = params.params if params else {}
        if isinstance(params.get("name"), str) and params["name"].endswith(".html"):
            group = params["name"]
        elif "language" in params:
            group = ("zh_CN/" if params["language"] == "zh_CN" else "") + "intro.html"
        elif {"visits", "phone_visits"} & set(getattr(item, "fixturenames", ())):
            group = "intro.html"
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
