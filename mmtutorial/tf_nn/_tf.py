"""The one place the package imports TensorFlow and Keras: quietly, TensorFlow first.

``from mmtutorial.tf_nn._tf import keras, tf`` in every TensorFlow module and test, instead of a
preamble per file (see :func:`mmtutorial.repro.import_tensorflow`).
"""

from __future__ import annotations

from mmtutorial.repro import import_tensorflow

tf = import_tensorflow()

import keras  # noqa: E402 - Keras loads TensorFlow itself: only after the quiet import above

__all__ = ["keras", "tf"]
