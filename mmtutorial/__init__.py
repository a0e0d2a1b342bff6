"""mmtutorial: the companion package of *Backpropagation for Multimodal Learning*.

NumPy only (``import mmtutorial`` loads none of TensorFlow):

- ``data``: the article's data, synthetic multimodal data, the UCI multi-view digits (chapter 1+)
- ``numpy_nn``: layers with hand-written backward passes, SGD, Adam, ``MultimodalNet`` (2, 3b)
- ``gradcheck``: centred finite differences and relative errors (3a, 3b)
- ``plotting``: every figure of the book; ``repro``: seeding and a quiet TensorFlow import

TensorFlow, imported only when one of these is imported (chapter 4):

- ``tf_models`` (builders), ``tf_fusion`` (fusion layers), ``tf_bridge`` (NumPy ↔ Keras)
- ``training`` (the compiled loop), ``training_step``, ``training_data``; ``bench`` (``make bench``)
"""

__version__ = "0.1.0"
