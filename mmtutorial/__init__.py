"""mmtutorial: the companion package of *Backpropagation for Multimodal Learning*.

NumPy only (``import mmtutorial`` loads none of TensorFlow):

- ``data``: the article's data, synthetic multimodal data, the UCI multi-view digits (chapter 1+)
- ``numpy_nn``: layers with hand-written backward passes, SGD, Adam, ``MultimodalNet``, ``train``
  (chapters 2, 3a, 3b)
- ``gradcheck``: centred finite differences and relative errors (3a, 3b)
- ``history``: ``History``, what both engines' ``train`` return
- ``plotting``: every figure of the book; ``repro``: seeding and a quiet TensorFlow import
- ``probe``: linear probes of representations and cross-modal retrieval top-1 (chapters 5, 6)

TensorFlow, imported only when one of these is imported (chapter 4 on):

- ``tf_nn``: the Keras twin of ``numpy_nn`` (fusion layers, builders, bridge, data, training)
- ``bench``: ``make bench``

Bad arguments raise one exception everywhere, a ``ValueError`` and a ``TypeError`` at once,
naming the argument, the expected and the received value.
"""

__version__ = "1.0.0"  # the book's edition; the one place it is written (CHANGELOG.md)
