"""For ``make nbval`` and ``make nbval-portable``: each notebook's time, printed after the run.

nbval runs every cell as a test; this adds up the cells of each notebook (its kernel's start-up
not included) and prints the times, slowest first, so that a chapter drifting towards the 30 s a
reader should wait (issue 24) shows in every CI log. Under two workers the notebooks share the
machine's two cores: ``make notebook NB=...``, one at a time, is the reference measurement.
"""

from __future__ import annotations

from collections import defaultdict

_SECONDS: defaultdict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report) -> None:
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _SECONDS[path] += report.duration  # setup, call and teardown of each cell


def pytest_terminal_summary(terminalreporter) -> None:
    if not _SECONDS:
        return
    terminalreporter.section("seconds per notebook (its cells, this run)")
    for path, seconds in sorted(_SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:6.1f} s  {path}")
