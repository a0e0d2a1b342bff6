"""Test-wide settings: property-based tests are derandomised so CI runs the same examples as you.

``HYPOTHESIS_PROFILE=stress pytest tests/test_numpy_nn.py`` explores many more random examples.
"""

import os

from hypothesis import settings

settings.register_profile("book", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("stress", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))
