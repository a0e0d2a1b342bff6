"""Summarise `mutmut results --all true` (read on stdin) for `make mutation` and `make mutation-tf`.

Prints the count per status, the score (killed / checked mutants) and every survivor, and exits
with status 1 if the score is below the project's bar of 90 %.

With ``--tf`` (TensorFlow modules) a timeout is not a kill: TensorFlow's thread pools may not
survive mutmut's fork (mutmut#578), so a hang would otherwise pass the bar; and a mutant no test
reaches ("no tests") counts as a survivor.
"""

import re
import sys
from collections import Counter

BAR = 0.90
TF = "--tf" in sys.argv[1:]
KILLED = {"killed", "segfault"} | (set() if TF else {"timeout"})  # the tests noticed the change
SURVIVED = {"survived"} | ({"timeout", "no tests"} if TF else set())

statuses, survivors = Counter(), []
for line in sys.stdin:
    match = re.match(r"\s*(\S+): (.+)$", line)
    if match:
        name, status = match.groups()
        statuses[status.strip()] += 1
        if status.strip() in SURVIVED:
            survivors.append(f"{name} ({status.strip()})")
checked = sum(n for status, n in statuses.items() if status in KILLED | SURVIVED)
killed = sum(statuses[status] for status in KILLED)
print(", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())))
for name in survivors:
    print(f"  survived: {name}")
score = killed / checked if checked else 0.0
print(f"mutation score: {killed}/{checked} killed = {score:.1%} (bar: {BAR:.0%})")
sys.exit(0 if score >= BAR else 1)
