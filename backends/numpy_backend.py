"""The NumPy backend: arrays in host memory."""

import numpy

from framework.backend import Backend
from framework.hookspecs import hookimpl


class NumpyBackend(Backend):
    name = "numpy"
    xp = numpy

    def to_numpy(self, x):
        return numpy.asarray(x)

    def scatter_add(self, a, indices, values):
        numpy.add.at(a, indices, values)


@hookimpl
def register_backends(register):
    register(NumpyBackend, name="numpy")
