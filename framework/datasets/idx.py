"""The IDX file format of MNIST and Fashion-MNIST, read and written with NumPy.

An IDX file is a 4-byte magic number ``00 00 TT DD`` (TT: the element type,
DD: the number of dimensions), DD big-endian uint32 sizes, then the elements,
big-endian, row-major. The files are usually gzip-compressed (``.gz``).
Everything the header declares is checked against the bytes present before
an array is made.
"""

import gzip
import struct

import numpy as np  # host-side file parsing

from framework.errors import DatasetError

# element type code -> big-endian NumPy dtype (from the format's description
# on LeCun's MNIST page)
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(dtype).newbyteorder("="): code for code, dtype in _DTYPES.items()}


def read_idx(path):
    """The array stored in the IDX file at `path` (gzip or plain), in native byte order.

    Raises `DatasetError` naming the file if it is not gzip when named
    ``.gz``, has a bad magic number, or holds more or fewer bytes than its
    header declares.
    """
    path = str(path)
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as file:
                raw = file.read()
        else:
            with open(path, "rb") as file:
                raw = file.read()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{path}: cannot read it as an IDX file ({exc})") from None
    return parse_idx(raw, path)


def parse_idx(raw, where="<bytes>"):
    """The array in the IDX bytes `raw`; `where` names the source in errors."""
    if len(raw) < 4:
        raise DatasetError(f"{where}: {len(raw)} bytes is too short for an IDX header")
    zeros, code, ndim = struct.unpack(">HBB", raw[:4])
    if zeros != 0 or code not in _DTYPES or ndim == 0:
        raise DatasetError(
            f"{where}: not an IDX file (magic number 0x{raw[:4].hex()}; expected 0x0000TTDD with a type TT in "
            f"{sorted(f'{c:02x}' for c in _DTYPES)} and DD >= 1 dimensions)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{where}: the header declares {ndim} dimensions but the file ends after {len(raw)} bytes")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(
            f"{where}: the header declares shape {shape} of {dtype.newbyteorder('=')} ({expected} bytes of data) "
            f"but the file holds {len(raw) - header}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def to_idx(array):
    """The IDX bytes of `array` (uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DatasetError(f"IDX cannot store dtype {array.dtype}; it stores {sorted(map(str, _CODES))}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + array.astype(_DTYPES[code], copy=False).tobytes()


def write_idx(path, array):
    """Write `array` as an IDX file (gzip-compressed when `path` ends in ``.gz``)."""
    data = to_idx(array)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as file:
        file.write(data)
