"""The built-in metric functions: ``fn(y_true, y_pred)`` -> the mean over the batch.

``y_true`` is the batch's targets as the loss layer takes them (class indices
(N,), one-hot rows (N, C), binary labels (N, 1) or regression targets);
``y_pred`` is what `predict` returns for the batch (probabilities for the
cross-entropies), shape (N, C). These run on backend arrays (they are marked
`on_backend`); a metric written by a user gets host NumPy arrays instead.
"""

from framework.backend import get_backend


def on_backend(fn):
    """Mark `fn` as computing on backend arrays, so the loop does not copy the batch to the host for it."""
    fn.on_backend = True
    return fn


def align(y_true, y_pred):
    """`y_true` shaped like `y_pred`: labels (N,) become (N, 1) for one output, one-hot for C outputs."""
    xp = get_backend().xp
    if y_true.ndim == y_pred.ndim:
        return y_true
    if y_pred.shape[-1] == 1:
        return y_true.reshape(y_pred.shape)
    return (y_true[:, None] == xp.arange(y_pred.shape[-1])[None, :]).astype(y_pred.dtype)


def _true_class(y_true):
    """Class indices from indices (N,), (N, 1) or one-hot rows (N, C)."""
    xp = get_backend().xp
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        return xp.argmax(y_true, axis=1)
    return y_true.reshape(-1)


@on_backend
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Fraction of outputs whose ``y_pred > threshold`` equals the label (Keras's rule)."""
    y_true = align(y_true, y_pred)
    return ((y_pred > threshold) == (y_true == 1)).mean()


@on_backend
def categorical_accuracy(y_true, y_pred):
    """Fraction of samples whose highest prediction is the true class (one-hot or index labels)."""
    xp = get_backend().xp
    return (xp.argmax(y_pred, axis=-1) == _true_class(y_true)).mean()


@on_backend
def sparse_categorical_accuracy(y_true, y_pred):
    """`categorical_accuracy` for class-index labels (N,) (one-hot labels work too)."""
    return categorical_accuracy(y_true, y_pred)


@on_backend
def accuracy(y_true, y_pred):
    """Keras's ``"accuracy"`` without a loss to go by: binary for one output, else categorical.

    Compiled models choose by the loss (binary for binary cross-entropy,
    whatever the number of outputs); see `framework.metrics.get`.
    """
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


@on_backend
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Fraction of samples whose true class is among the `k` highest predictions.

    The true class's rank is the number of classes predicted strictly higher:
    it is in the top k when that number is below k (a tie counts in its favour).
    """
    xp = get_backend().xp
    n = y_pred.shape[0]
    true_score = y_pred[xp.arange(n), _true_class(y_true)]
    higher = (y_pred > true_score[:, None]).sum(axis=1)
    return (higher < k).mean()


@on_backend
def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred) ** 2)`` over outputs and samples."""
    diff = align(y_true, y_pred) - y_pred
    return (diff * diff).mean()


@on_backend
def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|)`` over outputs and samples."""
    return get_backend().xp.abs(align(y_true, y_pred) - y_pred).mean()
