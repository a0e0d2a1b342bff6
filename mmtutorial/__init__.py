"""mmtutorial: the companion package of *Backpropagation for Multimodal Learning*.

NumPy-only modules (``data``, ``numpy_nn``, ``gradcheck``, ``plotting``, ``repro``) are importable
without TensorFlow; ``tf_models``, ``training`` and ``bench`` import TensorFlow when *they* are
imported, so ``import mmtutorial`` stays fast.
"""

__version__ = "0.1.0"
