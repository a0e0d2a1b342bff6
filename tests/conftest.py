"""Test-wide settings: property-based tests are derandomised so CI runs the same examples as you.

``HYPOTHESIS_PROFILE=stress pytest tests/test_numpy_nn.py`` explores many more random examples.
"""

import os

from hypothesis import settings

settings.register_profile("book", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("stress", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))


# The longest test files (a few minutes each, mostly waiting on installs and other processes),
# started first: make unit runs files on two workers (--dist loadfile), and one of these started
# last would leave the other worker idle until it ends.
LONGEST_FIRST = ("test_release.py", "test_distributed.py")


# test_release.py's tests that need its two fresh environments (fixture venvs, installing from
# the first test on) run after its other tests, which run meanwhile.
LAST_IN_FILE = "venvs"


def pytest_collection_modifyitems(config, items):
    """Start the LONGEST_FIRST files first; in a file, the tests that need LAST_IN_FILE last;
    and the tests of one ``xdist_group`` (the browser check's checks of one page) one after
    another, where its first test was. The rest as collected (a stable sort)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    first: dict[str, int] = {}  # a group -> where its first test was collected

    def key(position: int) -> tuple[int, bool, int]:
        item = items[position]
        group = item.get_closest_marker("xdist_group")
        where = first.setdefault(group.args[0], position) if group else position
        last = LAST_IN_FILE in getattr(item, "fixturenames", ())
        return rank.get(item.path.name, len(rank)), last, where

    order = sorted(range(len(items)), key=key)
    items[:] = [items[position] for position in order]
