"""Moving models between this framework and others: Keras's HDF5 files, ONNX export.

`keras_layers` translates layer configs and weight layouts (no file access);
the ``"keras_h5"`` checkpoint format plugin (``plugins/keras_h5.py``) reads
and writes the files; `framework.export` writes ONNX graphs.
"""
