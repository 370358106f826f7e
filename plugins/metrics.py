"""Registers the built-in metrics under Keras's names (``compile(metrics=["accuracy"])``)."""

from framework.hookspecs import hookimpl
from framework.metrics import AUC, Precision, Recall, functions


@hookimpl
def register_metrics(register):
    register(functions.accuracy, name="accuracy")
    register(functions.accuracy, name="acc")
    for fn in (functions.binary_accuracy, functions.categorical_accuracy, functions.sparse_categorical_accuracy,
               functions.top_k_categorical_accuracy, functions.mean_squared_error, functions.mean_absolute_error):
        register(fn)
    register(functions.mean_squared_error, name="mse")
    register(functions.mean_absolute_error, name="mae")
    for cls in (Precision, Recall, AUC):
        register(cls)
