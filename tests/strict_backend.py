"""A test-only backend whose arrays, like CuPy's, refuse to become NumPy arrays.

CI has no GPU, yet the commonest GPU failure is code that hands a device
array to NumPy (``np.asarray(x)``, ``numpy_array + x``). This backend wraps
NumPy arrays in `StrictArray`, which raises on any implicit conversion and on
any arithmetic mixing it with a plain NumPy array, exactly where CuPy raises.
Its ``xp`` is NumPy's API over wrapped arrays. Layer and model tests run on it.
"""

import numbers

import numpy as np

from framework.backend import Backend
from framework.hookspecs import hookimpl


class ImplicitConversionError(TypeError):
    pass


# Reads of backend values on the host (float(), int(), bool(), to_numpy): each is a
# device synchronisation on a GPU. Tests count them to keep them out of the steps.
HOST_READS = [0]


def _unwrap(value, allow_numpy):
    if isinstance(value, StrictArray):
        return value._data
    if isinstance(value, np.ndarray) and not allow_numpy and value.ndim > 0:
        raise ImplicitConversionError(
            f"a NumPy array of shape {value.shape} was mixed with backend arrays; "
            "convert it with backend.asarray first (CuPy refuses this too)"
        )
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, allow_numpy) for v in value)
    if isinstance(value, dict):  # keyword arguments, e.g. out=
        return {key: _unwrap(v, allow_numpy) for key, v in value.items()}
    return value


def _wrap(value):
    if isinstance(value, np.ndarray):
        return StrictArray(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        # A reduction's scalar (loss.sum()) stays on the device too, as CuPy's 0-d arrays do.
        return StrictArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    return value


class StrictArray:
    """A NumPy array that cannot be converted to NumPy implicitly."""

    __slots__ = ("_data",)
    __array_priority__ = 1000

    def __init__(self, data):
        self._data = data

    def __array__(self, dtype=None, copy=None):
        raise ImplicitConversionError(
            "implicit conversion of a backend array to NumPy is not allowed; use backend.to_numpy(x)"
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = _unwrap(inputs, allow_numpy=False)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"], allow_numpy=False)
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        # CuPy dispatches numpy functions on its arrays; mixing in NumPy arrays fails.
        return _wrap(func(*_unwrap(args, allow_numpy=False), **_unwrap(kwargs, allow_numpy=False)))

    # attributes and methods of the wrapped array, results wrapped again
    def __getattr__(self, name):
        if name.startswith("__"):  # e.g. __array_interface__, NumPy's back door to the data
            raise AttributeError(name)
        value = getattr(self._data, name)
        if callable(value):
            return lambda *a, **k: _wrap(value(*_unwrap(a, False), **_unwrap(k, False)))
        return _wrap(value)

    @property
    def T(self):
        return StrictArray(self._data.T)

    def __len__(self):
        return len(self._data)

    def __getitem__(self, index):
        return _wrap(self._data[_unwrap(index, allow_numpy=True)])

    def __setitem__(self, index, value):
        self._data[_unwrap(index, allow_numpy=True)] = _unwrap(value, allow_numpy=False)

    def __float__(self):
        HOST_READS[0] += 1
        return float(self._data)

    def __int__(self):
        HOST_READS[0] += 1
        return int(self._data)

    def __bool__(self):
        HOST_READS[0] += 1
        return bool(self._data)

    def __repr__(self):
        return f"StrictArray({self._data!r})"


def _binary(ufunc):
    def forward(self, other):
        return ufunc(self, other)

    def reflected(self, other):
        return ufunc(other, self)

    return forward, reflected


for _name, _ufunc in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
                      ("pow", np.power), ("matmul", np.matmul), ("floordiv", np.floor_divide)]:
    _f, _r = _binary(_ufunc)
    setattr(StrictArray, f"__{_name}__", _f)
    setattr(StrictArray, f"__r{_name}__", _r)
    setattr(StrictArray, f"__i{_name}__", lambda self, other, _u=_ufunc: _u(self, other, out=self))
for _name, _ufunc in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal),
                      ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(StrictArray, f"__{_name}__", lambda self, other, _u=_ufunc: _u(self, other))
StrictArray.__neg__ = lambda self: np.negative(self)
StrictArray.__abs__ = lambda self: np.absolute(self)
StrictArray.__hash__ = None


class _StrictModule:
    """NumPy's namespace over StrictArrays: ``xp.exp(a)`` unwraps, calls NumPy, wraps."""

    def __getattr__(self, name):
        value = getattr(np, name)
        if isinstance(value, type) or not callable(value):
            return value  # dtypes, constants
        allow = name in ("asarray", "array")  # the only doors from host memory

        def call(*args, **kwargs):
            return _wrap(value(*_unwrap(args, allow), **_unwrap(kwargs, allow)))

        return call


class StrictBackend(Backend):
    name = "strict"
    xp = _StrictModule()

    def asarray(self, x, dtype=None):
        if isinstance(x, StrictArray):
            return x if dtype is None or x.dtype == dtype else StrictArray(x._data.astype(dtype))
        if isinstance(x, numbers.Number):
            return StrictArray(np.asarray(x, dtype=dtype))
        return StrictArray(np.array(x, dtype=dtype))  # a copy, as a host->device transfer is

    def to_numpy(self, x):
        if isinstance(x, StrictArray):
            HOST_READS[0] += 1
            return np.array(x._data)
        return np.asarray(x)

    def scatter_add(self, a, indices, values):
        np.add.at(a._data, _unwrap(indices, True), _unwrap(values, False))


@hookimpl
def register_backends(register):
    register(StrictBackend, name="strict")
