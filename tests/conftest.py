"""Test-wide settings: property-based tests are derandomised so CI runs the same examples as you.

``HYPOTHESIS_PROFILE=stress pytest tests/test_numpy_nn.py`` explores many more random examples.
"""

import json
import os
from pathlib import Path

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


# Under mutmut (make mutation, make mutation-tf), each mutant runs the tests that reach it with -x:
# fastest first, by the durations mutmut recorded in its stats, so that a killed mutant stops early.
# (Longest first, as below, made every mutant of the TF selection wait on the multi-process tests.)
MUTMUT_STATS = Path("mutmut-stats.json")


def _fastest_first(items) -> bool:
    """Sort ``items`` by mutmut's recorded durations if this is a mutant's run; say if it was."""
    if not os.environ.get("MUTANT_UNDER_TEST") or not MUTMUT_STATS.is_file():
        return False
    durations = json.loads(MUTMUT_STATS.read_text())["duration_by_test"]
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
    return True


def pytest_collection_modifyitems(config, items):
    """Start the LONGEST_FIRST files first; in a file, the tests that need LAST_IN_FILE last;
    and the tests of one ``xdist_group`` (the browser check's checks of one page) one after
    another, where its first test was. The rest as collected (a stable sort). Under mutmut:
    the fastest tests first instead."""
    if _fastest_first(items):
        return
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
