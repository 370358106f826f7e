"""The sample-weight check of `check_layer` for loss layers.

The contract (see `LossLayer.forward`): with ``sample_weight`` w of shape
(N,), the loss is ``sum(w_i * loss_i) / N`` and row i of dx is scaled by
``w_i``. The reference is independent of the layer's weighted code path:
each sample's loss and gradient come from a forward and backward on that
sample alone (a batch of one, whose mean is the sample's own loss).
"""

import numpy as np  # comparisons run on the host

from framework.backend import get_backend
from framework.testing._common import check, fail, host, max_difference
from framework.training.weights import takes_sample_weight

__all__ = ["check_sample_weights", "takes_sample_weight"]

KIT = "check_layer"


def check_sample_weights(layer, x, t, rng):
    """Raise `AssertionError` unless `layer` weighs each sample's loss and gradient as the contract says."""
    backend = get_backend()
    n = x.shape[0]
    weights = rng.integers(0, 4, n).astype(np.float64)  # zeros included: a weight may drop a sample
    with check(KIT, "sample weights"):
        t_device = backend.asarray(t)
        loss = float(layer.forward(backend.asarray(x), t_device, sample_weight=backend.asarray(weights)))
        dx = host(layer.backward(1.0))
        losses, rows = [], []
        for i in range(n):  # the reference: one sample at a time, unweighted
            losses.append(float(layer.forward(backend.asarray(x[i:i + 1]), backend.asarray(t[i:i + 1]))))
            rows.append(host(layer.backward(1.0))[0])
        expected_loss = float(np.dot(weights, losses)) / n
        if not np.isclose(loss, expected_loss, rtol=1e-10, atol=1e-12):
            fail(KIT, "sample weights", f"the weighted loss is {loss!r}, but sum(w_i * loss_i) / N is {expected_loss!r}")
        expected_dx = weights.reshape((-1,) + (1,) * (x.ndim - 1)) * np.stack(rows) / n
        if not np.allclose(dx, expected_dx, rtol=1e-10, atol=1e-12):
            fail(KIT, "sample weights", "dx with sample_weight is not w_i * dloss_i/dx_i / N row by row "
                 f"(max difference {max_difference(dx, expected_dx):.3e})")
