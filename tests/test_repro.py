"""repro: seeding, and the quiet TensorFlow import that keeps stored notebook outputs clean."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from mmtutorial.repro import _STARTUP_NOTICES, set_seed

CUDA = (
    "I0000 00:00:1795735495.350596    4147 cudart_stub.cc:31] Could not find cuda drivers on your"
    " machine, GPU will not be used."
)
ONEDNN = (
    "I0000 00:00:1795735495.350596    4147 port.cc:153] oneDNN custom operations are on. You may"
    " see slightly different numerical results due to floating-point round-off errors from"
    " different computation orders. To turn them off, set the environment variable"
    " `TF_ENABLE_ONEDNN_OPTS=0`."
)


@pytest.mark.parametrize("line", [CUDA, ONEDNN])
def test_exactly_the_known_start_up_notices_are_dropped(line: str):
    assert _STARTUP_NOTICES.match(line)
    assert not _STARTUP_NOTICES.match(line + " and something else")
    assert not _STARTUP_NOTICES.match(line.replace("I0000", "E0000"))


@pytest.mark.parametrize(
    "line",
    [
        "W0000 00:00:1795735495.35 4147 cpu_feature_guard.cc:210] This TensorFlow binary is ...",
        "I0000 00:00:1795735495.35 4147 port.cc:153] oneDNN custom operations are off.",
        "UserWarning: something real",
    ],
)
def test_other_lines_are_kept(line: str):
    assert not _STARTUP_NOTICES.match(line)


def _stderr_of(code: str, **env: str) -> str:
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stderr


def test_import_tensorflow_is_silent_with_onednn_on_while_a_plain_import_is_not():
    # The environment of `make nbval-portable`: oneDNN on, which prints a notice at import.
    env = {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    assert "oneDNN custom operations are on" in _stderr_of("import tensorflow", **env)
    quiet = "from mmtutorial.repro import import_tensorflow; import_tensorflow()"
    assert _stderr_of(quiet, **env) == ""


def test_set_seed_returns_a_seeded_generator_and_refuses_bad_seeds():
    assert set_seed(3).random() == np.random.default_rng(3).random()
    with pytest.raises(TypeError, match="seed"):
        set_seed(1.5)
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)
