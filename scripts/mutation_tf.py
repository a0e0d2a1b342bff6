"""`make mutation-tf`: mutation testing of the TensorFlow engine's fusion layers and training step.

mutmut reads one ``[tool.mutmut]`` table, the NumPy engine's (``make mutation``). This script
copies the repository's tracked files into a scratch folder, writes the TensorFlow selection
below into that copy's ``pyproject.toml``, runs ``mutmut run`` there, and scores the result with
``scripts/mutation_score.py --tf``: a timeout (a child hung after mutmut's fork, mutmut#578) and
a mutant no test reaches count as survivors, never as kills.

Usage: ``python scripts/mutation_tf.py [--keep DIR] [--only FILE ...] [--warmup import]``
(``--keep`` runs in DIR and leaves it; ``--only`` mutates a subset of the files below, e.g. after
changing one of them; ``--warmup import``: see PRELOAD).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The mutated files: the fusion layers, the training step and the argument and data checks of
#: the loop.
MUTATE = [
    "mmtutorial/tf_nn/fusion.py",
    "mmtutorial/tf_nn/step.py",
    "mmtutorial/tf_nn/_train_checks.py",
    "mmtutorial/tf_nn/_data_checks.py",
    "mmtutorial/tf_nn/_builder_args.py",
]
#: The tests that kill them (the builders, the fusion layers, the loop, the contract, the
#: imbalance remedies and loss weighting the step runs, one replica of a strategy).
TESTS = [
    "tests/test_tf_nn.py",
    "tests/test_training.py",
    "tests/test_engine_contract.py",
    "tests/test_attention_fusion.py",
    "tests/test_tf_balance.py",
    "tests/test_distributed.py",
]
# Each mutant's tests run in a child forked from a server process that has run no TensorFlow
# op: forking a process whose TensorFlow thread pools are running hangs the child (mutmut#578),
# as the default fork from mutmut's own process did here. With --warmup import, the server has
# imported (not run) NumPy, TensorFlow and Keras (PRELOAD), so a child skips their import.
PRELOAD = ["numpy", "tensorflow", "keras", "hypothesis", "pytest"]


def mutmut_config(mutate: list[str], warmup: str) -> str:
    """pyproject.toml's ``[tool.mutmut]`` table for the TensorFlow selection (a JSON list of
    strings is a TOML array)."""
    return f"""[tool.mutmut]
process_isolation = "forkserver"
forkserver_warmup = {json.dumps(warmup)}
preload_modules_file = "mutmut_preload.txt"
source_paths = ["mmtutorial"]
only_mutate = {json.dumps(mutate)}
pytest_add_cli_args = ["-p", "no:cacheprovider", "--hypothesis-seed=0", "-o", "addopts="]
pytest_add_cli_args_test_selection = {json.dumps(TESTS)}
"""


def scratch_copy(target: Path, mutate: list[str], warmup: str = "none") -> None:
    """Copy the tracked files into ``target`` and give it the TensorFlow selection."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    pyproject = (target / "pyproject.toml").read_text()
    config = mutmut_config(mutate, warmup)
    (target / "mutmut_preload.txt").write_text("\n".join(PRELOAD) + "\n")
    pyproject = re.sub(r"\[tool\.mutmut\].*?(?=\n\[|\Z)", config, pyproject, flags=re.DOTALL)
    (target / "pyproject.toml").write_text(pyproject)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run in this folder and leave it")
    parser.add_argument("--only", nargs="+", choices=MUTATE, help="mutate only these files")
    parser.add_argument(
        "--warmup",
        choices=["none", "import"],
        default="none",
        help="import: the fork server imports PRELOAD first (faster; watch for timeouts)",
    )
    parser.add_argument("--children", type=int, default=2, help="mutants run at a time")
    args = parser.parse_args()
    mutate = args.only or MUTATE
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mutation-tf-"))
    folder.mkdir(parents=True, exist_ok=True)
    scratch_copy(folder, mutate, args.warmup)
    mutmut = Path(sys.executable).with_name("mutmut")
    start = time.monotonic()
    subprocess.run([mutmut, "run", "--max-children", str(args.children)], cwd=folder, check=False)
    minutes = (time.monotonic() - start) / 60
    results = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=folder, capture_output=True, text=True
    ).stdout
    print(f"mutated: {', '.join(mutate)}; run time {minutes:.0f} min")
    score = subprocess.run(
        [sys.executable, ROOT / "scripts" / "mutation_score.py", "--tf"], input=results, text=True
    )
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return score.returncode


if __name__ == "__main__":
    sys.exit(main())
