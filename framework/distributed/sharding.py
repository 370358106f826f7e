"""How a global batch is split between the ranks."""


def shard_bounds(n, size, rank):
    """(start, stop) of `rank`'s shard of `n` samples split between `size` ranks.

    Contiguous shards whose sizes differ by at most one: the first ``n % size``
    ranks take one sample more. A rank may get an empty shard when n < size.
    """
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def shard_slice(n, size, rank):
    """`shard_bounds` as a slice."""
    return slice(*shard_bounds(n, size, rank))
