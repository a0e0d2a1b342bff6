"""Reproducibility in one call: seeds Python, NumPy and (on request) TensorFlow.

Every chapter's setup cell (chapters 1-6 and the setup check) calls :func:`set_seed`; the
TensorFlow modules call :func:`quiet_tensorflow` before they import TensorFlow.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import sys
import tempfile
from types import ModuleType

import numpy as np

from ._checks import check_bool, check_seed

__all__ = ["import_tensorflow", "quiet_tensorflow", "set_seed"]

#: Environment set before TensorFlow is first imported. ``TF_CPP_MIN_LOG_LEVEL=3`` silences the
#: C++ log lines (with timestamps and process ids) that TensorFlow writes to stderr;
#: ``TF_ENABLE_ONEDNN_OPTS=0`` silences the oneDNN notice and removes one source of
#: CPU-dependent rounding.
TF_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def quiet_tensorflow() -> None:
    """Set the environment that keeps TensorFlow's start-up quiet and its CPU maths stable.

    Has an effect only if called before ``import tensorflow``; values already present in the
    environment are kept.

    Examples
    --------
    >>> from mmtutorial.repro import quiet_tensorflow
    >>> quiet_tensorflow()
    >>> import os
    >>> os.environ["TF_CPP_MIN_LOG_LEVEL"]
    '3'
    """
    for key, value in TF_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


#: The start-up notices TensorFlow 2.21 writes to the C-level stderr at import even with the
#: environment above (its CUDA stub runs before the log level is read), and the notice it writes
#: (twice) when a user turns oneDNN on with ``TF_ENABLE_ONEDNN_OPTS=1``, as ``make nbval-portable``
#: does. Exactly these lines are dropped; anything else written during the import is passed on.
_STARTUP_NOTICES = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+ +\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine,"
    r" GPU will not be used\."
    r"|I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. You may see slightly"
    r" different numerical results due to floating-point round-off errors from different"
    r" computation orders\. To turn them off, set the environment variable"
    r" `TF_ENABLE_ONEDNN_OPTS=0`\.)$"
)


def import_tensorflow() -> ModuleType:
    """Import TensorFlow quietly and return the module.

    Sets the environment of :func:`quiet_tensorflow`, then imports TensorFlow with the process's
    C-level stderr sent to a temporary file, so that its two known start-up notices (see
    ``_STARTUP_NOTICES``) do not reach a notebook's stored outputs. Every other line written
    during the import is written back to stderr. Importing again is free.

    Examples
    --------
    >>> from mmtutorial.repro import import_tensorflow
    >>> tf = import_tensorflow()
    >>> tf.__name__
    'tensorflow'
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    quiet_tensorflow()
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        captured.seek(0)
        lines = captured.read().decode(errors="replace").splitlines()
    for line in lines:
        if line.strip() and not _STARTUP_NOTICES.match(line):
            print(line, file=sys.stderr)
    tf.get_logger().setLevel("ERROR")
    return tf


def set_seed(seed: int = 0, *, tensorflow: bool = False) -> np.random.Generator:
    """Seed Python's ``random``, NumPy and, if asked, TensorFlow; return a NumPy generator.

    Parameters
    ----------
    seed : int
        An int or ``np.integer`` >= 0.
    tensorflow : bool
        Also import TensorFlow (quietly, see :func:`import_tensorflow`), seed it with
        ``keras.utils.set_random_seed`` and turn on op determinism, so that a notebook that trains
        a Keras model prints the same numbers on every run. Without TensorFlow (the package's
        ``[tf]`` extra) this raises a ``ModuleNotFoundError`` that names the extra.

    Returns
    -------
    numpy.random.Generator
        ``np.random.default_rng(seed)``: pass it on to whatever needs randomness.

    Examples
    --------
    >>> from mmtutorial.repro import set_seed
    >>> rng = set_seed(0)
    >>> float(rng.random()) == float(set_seed(0).random())
    True
    """
    seed = check_seed(seed)
    tensorflow = check_bool("tensorflow", tensorflow)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - legacy global state, seeded for third-party code
    if tensorflow:
        _require_tensorflow("set_seed(..., tensorflow=True)")
        _seed_tensorflow(seed)
    return np.random.default_rng(seed)


def _require_tensorflow(needed_by: str) -> None:
    """Raise the one error that names the ``[tf]`` extra if TensorFlow is not installed.

    ``pip install mmtutorial`` is the NumPy half; TensorFlow comes with ``mmtutorial[tf]``.
    :mod:`mmtutorial.tf_nn` (and so :mod:`mmtutorial.bench`) and ``set_seed(tensorflow=True)``
    call this first. It only looks TensorFlow up: nothing is imported.
    """
    if importlib.util.find_spec("tensorflow") is None:
        raise ModuleNotFoundError(
            f"{needed_by} needs TensorFlow, which is not installed. It comes with the "
            'package\'s TensorFlow extra: pip install "mmtutorial[tf]" (in a checkout: '
            'pip install -e ".[tf]")',
            name="tensorflow",
        )


def _seed_tensorflow(seed: int) -> None:
    tf = import_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
