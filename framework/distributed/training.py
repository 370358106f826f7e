"""What a data-parallel step adds to the book's loop: shard, reduce, broadcast, gather.

Every function here is the identity (or close to it) on one process, so the
training loop calls them unconditionally.
"""

import numpy as np  # host buffers: MPI moves host memory

from framework.backend import get_backend
from framework.distributed import communicator
from framework.distributed.sharding import shard_slice


def local_batch(*arrays):
    """This rank's shard of a global batch (each array's first axis), and (n_local, n_global)."""
    comm = communicator()
    n = len(arrays[0])
    if comm.size == 1:
        return arrays, (n, n)
    part = shard_slice(n, comm.size, comm.rank)
    return tuple(a[part] for a in arrays), (part.stop - part.start, n)


def _float_state(layer):
    state = getattr(layer, "state", None) or {}
    return [(key, value) for key, value in state.items() if value.dtype.kind == "f"]


def reduce_step(model, grads, counts):
    """Make `grads` (and float layer state, e.g. BatchNorm's moving statistics) the global ones, in place.

    Each rank's gradient is the mean over its shard; the global mean over the
    batch is ``sum over ranks of (n_rank / n_global) * grad_rank``. The
    weighted gradients (and states) travel in ONE packed buffer: one
    allreduce per step, whatever the number of parameters. A rank with an
    empty shard contributes zeros.
    """
    comm = communicator()
    if comm.size == 1:
        return grads
    n_local, n_global = counts
    weight = n_local / n_global
    backend = get_backend()
    comm = comm.for_backend(backend)  # NCCL on the GPU where it is available
    on_device = getattr(comm, "device_arrays", False)
    xp = backend.xp if on_device else np
    states = [(layer, key, value) for layer in model._body for key, value in _float_state(layer)]
    arrays = list(grads.values()) + [value for _, _, value in states]
    dtype = np.result_type(*[a.dtype for a in arrays]) if arrays else np.float32
    packed = xp.zeros(sum(int(a.size) for a in arrays), dtype=dtype)
    offset = 0
    for a in arrays:
        size = int(a.size)
        if n_local:  # an empty shard contributes zeros
            packed[offset : offset + size] = (a if on_device else backend.to_numpy(a)).ravel()
            packed[offset : offset + size] *= weight
        offset += size
    total = comm.allreduce(packed)
    offset = 0
    for key, a in grads.items():
        size = int(a.size)
        # A fresh array: layers may hand out views of their caches as grads.
        grads[key] = backend.asarray(total[offset : offset + size].reshape(a.shape), dtype=a.dtype)
        offset += size
    for layer, key, value in states:
        size = int(value.size)
        value[...] = backend.asarray(total[offset : offset + size].reshape(value.shape), dtype=value.dtype)
        offset += size
    return grads


def reduce_sums(values):
    """The element-wise sums over all ranks of a list of floats (loss and metric sums, sample counts)."""
    comm = communicator()
    if comm.size == 1:
        return list(values)
    return [float(v) for v in comm.allreduce(np.asarray(values, dtype=np.float64))]


def broadcast_weights(model):
    """Give every rank rank 0's parameters and state, so all start identical whatever their initialisation."""
    comm = communicator()
    if comm.size == 1:
        return
    backend = get_backend()
    for layer in model.layers:
        tables = [layer.params] + ([layer.state] if getattr(layer, "state", None) else [])
        for table in tables:
            for value in table.values():
                host = np.array(backend.to_numpy(value))
                comm.broadcast(host)
                value[...] = backend.asarray(host, dtype=value.dtype)


def broadcast_value(value):
    """Rank 0's small Python value (a seed) on every rank."""
    comm = communicator()
    return value if comm.size == 1 else comm.broadcast_object(value)


def local_part(n):
    """This rank's contiguous slice of `n` samples (for evaluate and predict)."""
    comm = communicator()
    return slice(0, n) if comm.size == 1 else shard_slice(n, comm.size, comm.rank)


def gather(array):
    """The ranks' host arrays concatenated in rank order, on every rank."""
    comm = communicator()
    return array if comm.size == 1 else comm.allgather(array)
