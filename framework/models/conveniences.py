"""Keras's model conveniences and file methods, as a base class of `Sequential`.

Each is a few lines over what the model already has (the loop's batches,
the structure's list of layers, the config, `framework.saving`), kept here
so that `framework/models/sequential.py` stays the structure and the
training interface.
"""

from framework.models import model_json, structure
from framework.training import loop


class KerasConveniences:
    """``model(x)``, `predict_on_batch`, `test_on_batch`, `get_layer`, `pop`, `to_json`, `save`, ... as in Keras."""

    def __call__(self, x, training=False):
        """What `predict` returns for `x`, computed as one batch and kept a backend array (Keras's ``model(x)``)."""
        return loop.call(self, x, training=training)

    def predict_on_batch(self, x):
        """`predict` on `x` as one batch, as a NumPy array."""
        return loop.predict_on_batch(self, x)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch, without training (as `evaluate` returns them)."""
        return loop.test_on_batch(self, x, y, sample_weight=sample_weight, return_dict=return_dict)

    def get_layer(self, name=None, index=None):
        """The layer named `name` (or at position `index`); an unknown name raises, listing the names."""
        return structure.get_layer(self, name, index)

    def pop(self):
        """Remove and return the last layer (the model stays built for its input shape)."""
        return structure.pop(self)

    def to_json(self, **kwargs):
        """The model's architecture as JSON text (no weights); `fw.models.model_from_json` rebuilds it."""
        return model_json.to_json(self, **kwargs)

    def save(self, path, format=None):
        """Save the model, its weights, its compile settings and its training state to `path` (atomically).

        `format`: a registered checkpoint format; by default chosen by the
        file's extension, else ``"hdf5"``. Load with `fw.load_model(path)`.
        """
        from framework import saving

        saving.save_model(self, path, format=format)

    def save_weights(self, path, format=None):
        """Save only the weights, by layer name, to `path` (atomically)."""
        from framework import saving

        saving.save_weights(self, path, format=format)

    def load_weights(self, path):
        """Set the weights from `path`, matched by layer name; checked whole before any change."""
        from framework import saving

        saving.load_weights(self, path)
