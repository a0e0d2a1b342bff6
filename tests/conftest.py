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


def pytest_collection_modifyitems(config, items):
    """Start the LONGEST_FIRST files first (a stable sort: the rest as collected)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
