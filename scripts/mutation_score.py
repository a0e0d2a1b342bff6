"""Summarise `mutmut results --all true` (read on stdin) for `make mutation`.

Prints the count per status, the score (killed / checked mutants) and every survivor, and exits
with status 1 if the score is below the project's bar of 90 %.
"""

import re
import sys
from collections import Counter

BAR = 0.90
KILLED = {"killed", "timeout", "segfault"}  # the tests noticed the change in each of these

statuses, survivors = Counter(), []
for line in sys.stdin:
    match = re.match(r"\s*(\S+): (.+)$", line)
    if match:
        name, status = match.groups()
        statuses[status.strip()] += 1
        if status.strip() == "survived":
            survivors.append(name)
checked = sum(n for status, n in statuses.items() if status in KILLED | {"survived"})
killed = sum(statuses[status] for status in KILLED)
print(", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())))
for name in survivors:
    print(f"  survived: {name}")
score = killed / checked if checked else 0.0
print(f"mutation score: {killed}/{checked} killed = {score:.1%} (bar: {BAR:.0%})")
sys.exit(0 if score >= BAR else 1)
