"""Data-parallel training over MPI: the same script on N processes, the same result.

    import framework as fw
    fw.distributed.init()          # the one extra line; before the model is built
    ...
    model.fit(x, y, batch_size=64)  # mpiexec -n 4 python train.py

After `init()` every process holds the whole model and trains on its own
shard of each global batch; the shards' gradients are summed with one
allreduce per step, each weighted by its shard's size, so N processes with
global batch B give the weights of one process with batch B (the scheme of
ChainerMN and Horovod). Parameters are broadcast from rank 0 when a model is
built or loaded; only rank 0 prints, logs and writes checkpoints; `evaluate`
and `predict` return the global results on every rank.

Without an MPI launcher (or before `init()`), the size is 1 and nothing here
does anything: the same script runs as one process, with or without mpi4py.
"""

from framework.distributed.communicators import MPICommunicator, SingleProcess, launched_by_mpi, select_local_device
from framework.distributed.sharding import shard_bounds, shard_slice

__all__ = ["init", "rank", "size", "is_initialized", "launched_by_mpi", "shard_bounds", "shard_slice"]

_single = SingleProcess()
_communicator = None  # set by init()


def init():
    """Join the MPI job this process was started in (a no-op, size 1, without a launcher).

    Call it once, before the model is built. Started by an MPI launcher
    without mpi4py installed, it raises `DistributedError` saying what to
    install. Installs an exception hook that aborts the whole job when this
    rank raises, so no other rank waits forever in a collective.
    """
    global _communicator
    if _communicator is None:
        _communicator = MPICommunicator.create() if launched_by_mpi() else _single
        device = select_local_device()
        if _communicator.size > 1 and device is not None:
            _use_gpu(device)
    return _communicator


def _use_gpu(local_rank):
    """On a node with GPUs, give each local rank its own (where CuPy is installed)."""
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # no CuPy, no driver: a CPU job
        return
    if count:
        cupy.cuda.Device(local_rank % count).use()


def communicator():
    """The communicator in use: the MPI one after `init()` in an MPI job, else a single-process one."""
    return _communicator if _communicator is not None else _single


def is_initialized():
    """Whether `init()` has been called."""
    return _communicator is not None


def rank():
    """This process's rank, 0 to ``size() - 1`` (0 without MPI)."""
    return communicator().rank


def size():
    """The number of processes training together (1 without MPI)."""
    return communicator().size


def active():
    """True when more than one process trains together."""
    return communicator().size > 1


def is_chief():
    """True on rank 0, the process that prints, logs and writes checkpoints."""
    return communicator().rank == 0


from framework.distributed.training import (  # noqa: E402  (they use communicator(), defined above)
    broadcast_value,
    broadcast_weights,
    gather,
    local_batch,
    local_part,
    reduce_step,
    reduce_sums,
)
