"""MaxPooling2D's compiled 2x2 pass gives the layer's own NumPy lines' numbers and masks, bit for bit.

The reference is the layer's plain code, run with ``FRAMEWORK_NUMBA=off``;
the same forward and backward then run through backends/numpy_fused_pool.py
on images full of ties (+0.0 against -0.0, as after a ReLU), NaNs with
payloads of their own, and infinities. The maxima are the images' own
numbers, so every bit of them must agree, NaNs included.
"""

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.backend import get_backend
from framework.backends import numpy_fused, numpy_fused_pool

from .test_fused_updates import SPECIAL, _bits, assert_same_with_and_without_kernels, spy_on_kernels

pytest.importorskip("numba")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf in the backward: intended


def _nans(dtype, count):
    """`count` quiet NaNs with payloads 1, 2, ... and alternating signs: which one wins shows."""
    bits = np.dtype(f"u{np.dtype(dtype).itemsize}")
    quiet = np.array([np.nan], dtype=dtype).view(bits)[0]
    sign = bits.type(1) << bits.type(8 * np.dtype(dtype).itemsize - 1)
    return np.array([(quiet | (i + 1)) ^ (sign if i % 2 else 0) for i in range(count)], dtype=bits).view(dtype)


def _image(rng, shape, dtype):
    """Normal numbers; a quarter of the cells special; whole windows of zeros of both signs."""
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    at = rng.random(flat.size) < 0.25
    specials = np.concatenate([np.asarray(SPECIAL, dtype), _nans(dtype, 6)])
    flat[at] = specials[rng.integers(0, len(specials), size=int(at.sum()))]
    zeros = rng.random(flat.size) < 0.3  # ties in most windows: the common case after a ReLU
    flat[zeros] = np.where(rng.random(int(zeros.sum())) < 0.5, dtype(0.0), dtype(-0.0))
    return x


def channels_last(*images):
    """(N, C, H, W) images as C-contiguous (N, H, W, C) ones, as a channels-last model makes them."""
    return [np.ascontiguousarray(image.transpose(0, 2, 3, 1)) for image in images]


def run_pooling(layer_class, x, dout, data_format, pool_size=2, **options):
    """A `layer_class` layer (2x2 unless told) after its forward and backward, its output and dx.

    `x` and `dout` are given channels first; channels last they go in as
    `channels_last` images, and the output and dx come back transposed.
    `options`: the layer's other arguments (strides, padding).
    """
    last = data_format == "channels_last"
    if last:
        x, dout = channels_last(x, dout)
    layer = layer_class(pool_size, data_format=data_format, **options)
    layer.build(x.shape)
    out = layer.forward(x, training=True)
    dx = layer.backward(dout)
    if last:
        out, dx = out.transpose(0, 3, 1, 2), dx.transpose(0, 3, 1, 2)
    return layer, out, dx


def _layer_pass(x, dout, data_format="channels_first"):
    """The max pooling layer's output, masks and dx (see `run_pooling`)."""
    layer, out, dx = run_pooling(layers.MaxPooling2D, x, dout, data_format)
    return {"out": out, "arg_h": layer.arg_h, "arg_w": layer.arg_w, "dx": dx}


# Even maps; odd ones (a last row and column in no window); one large map; one channel of many.
SHAPES = [(100, 30, 24, 24), (128, 8, 9, 11), (1, 1, 130, 258), (2, 3, 64, 48), (40, 200, 2, 4)]


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_max_pooling_gives_the_plain_lines_bits(shape, dtype, data_format, monkeypatch):
    rng = np.random.default_rng(sum(shape))
    x = _image(rng, shape, dtype)
    dout = _image(rng, (shape[0], shape[1], shape[2] // 2, shape[3] // 2), dtype)
    calls = spy_on_kernels(monkeypatch, numpy_fused_pool)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = _layer_pass(x, dout, data_format)
    assert not any(calls)
    calls.clear()
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    got = _layer_pass(x, dout, data_format)

    assert calls == [True, True], "the compiled kernels did not run"
    for key in ("out", "arg_h", "arg_w"):  # picked, never computed: every bit, NaN payloads too
        assert got[key].dtype == expected[key].dtype and got[key].shape == expected[key].shape, key
        got_bits, expected_bits = (np.ascontiguousarray(r[key]).view(np.uint8) for r in (got, expected))
        np.testing.assert_array_equal(got_bits, expected_bits, err_msg=key)
    assert got["dx"].dtype == dtype and got["dx"].shape == shape
    np.testing.assert_array_equal(_bits(got["dx"]), _bits(expected["dx"]))
    assert np.isnan(expected["out"]).any() and (expected["out"] == 0).any()  # the special cases were there


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_the_masks_of_either_path_serve_the_others_backward(data_format, monkeypatch):
    rng = np.random.default_rng(3)
    x = _image(rng, (64, 8, 12, 12), np.float32)
    dout = _image(rng, (64, 8, 6, 6), np.float32)
    if data_format == "channels_last":
        x, dout = channels_last(x, dout)
    layer = layers.MaxPooling2D(2, data_format=data_format)
    layer.build(x.shape)
    layer.forward(x, training=True)  # the kernels' masks...
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    plain = layer.backward(dout)  # ...read by the lines
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    np.testing.assert_array_equal(_bits(layer.backward(dout)), _bits(plain))


def test_a_channels_last_gradient_laid_out_channels_first_is_copied_to_the_masks_layout(monkeypatch):
    # After a channels-last convolution, dout arrives as (N, C, H, W) memory seen channels last.
    rng = np.random.default_rng(7)
    (x,) = channels_last(_image(rng, (64, 8, 12, 12), np.float32))
    dout = _image(rng, (64, 8, 6, 6), np.float32).transpose(0, 2, 3, 1)
    layer = layers.MaxPooling2D(2, data_format="channels_last")
    layer.build(x.shape)
    layer.forward(x, training=True)
    calls = spy_on_kernels(monkeypatch, numpy_fused_pool, names=("backward",))
    got = layer.backward(dout)
    assert calls == [True] and got.flags.c_contiguous  # (N, H, W, C) memory, as the masks'
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    np.testing.assert_array_equal(_bits(got), _bits(layer.backward(dout)))


def test_fused_max_pooling_declines_what_it_cannot_do(monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 8, 12, 12)).astype(np.float32)
    backend = get_backend()
    cases = {
        "3x3 windows": (x, (3, 3)),
        "a 2x1 window": (x, (2, 1)),
        "every other column (a strided view)": (x[..., ::2], (2, 2)),
        "channels in the middle of memory": (x.transpose(0, 2, 1, 3), (2, 2)),
        "fewer than FUSE_MIN numbers": (x[:2], (2, 2)),
        "half precision": (x.astype(np.float16), (2, 2)),
        "integers": (x.astype(np.int32), (2, 2)),
        "3-d": (x.reshape(64, 96, 12), (2, 2)),
    }
    for case, (image, pool) in cases.items():
        assert backend.fused_max_pool(image, pool) is None, case
    out, arg_h, arg_w = backend.fused_max_pool(x, (2, 2))
    assert backend.fused_max_pool_backward(out, arg_h, arg_w, (2, 2), x.shape).shape == x.shape
    assert backend.fused_max_pool_backward(out, arg_h, arg_w, (2, 2), (64, 8, 14, 12)) is None  # another x
    assert backend.fused_max_pool_backward(out, arg_w[:, :, :6], arg_w, (2, 2), x.shape) is None  # masks swapped
    assert backend.fused_max_pool_backward(out, arg_h.astype(np.uint8), arg_w, (2, 2), x.shape) is None
    # Where NumPy's maximum picks otherwise (found once per process), the layer runs its lines.
    monkeypatch.setattr(numpy_fused_pool, "_picks_checked", False)
    assert backend.fused_max_pool(x, (2, 2)) is None
    assert backend.fused_max_pool_backward(out, arg_h, arg_w, (2, 2), x.shape) is None


def test_the_check_of_numpys_maximum_sees_another_rule(monkeypatch):
    assert numpy_fused_pool.numpy_picks_so()  # this machine's NumPy picks as the kernels do
    # NumPy on ARM returns +0.0 for either order of a signed-zero tie: the check must say no.
    real = np.maximum

    def plus_zero_on_ties(a, b, **options):
        out = real(a, b, **options)
        out[(a == 0) & (b == 0)] = 0.0
        return out

    monkeypatch.setattr(numpy_fused_pool.numpy, "maximum", plus_zero_on_ties)
    assert not any(numpy_fused_pool._picks_so(dtype) for dtype in numpy_fused._FLOATS)


def test_where_the_kernels_do_not_compile_the_layer_gives_its_numbers(monkeypatch):
    rng = np.random.default_rng(5)
    x, dout = _image(rng, (64, 8, 12, 12), np.float32), _image(rng, (64, 8, 6, 6), np.float32)
    monkeypatch.setenv("FRAMEWORK_NUMBA", "off")
    expected = _layer_pass(x, dout)
    monkeypatch.delenv("FRAMEWORK_NUMBA")
    calls = spy_on_kernels(monkeypatch, numpy_fused_pool)
    monkeypatch.setattr(numpy_fused, "_compiled", {key: None for key in (("max_pool_2x2", x.dtype),
                                                                         ("max_pool_2x2_backward", x.dtype))})
    got = _layer_pass(x, dout)
    assert calls == [False, False]
    for key in expected:
        got_bits, expected_bits = (np.ascontiguousarray(r[key]).view(np.uint8) for r in (got, expected))
        np.testing.assert_array_equal(got_bits, expected_bits, err_msg=key)


def assert_a_convnet_trains_alike(monkeypatch, module, body, images, data_format, seed, names=("forward", "backward")):
    """A convnet of `body()`'s layers trains to the same weights with and without `module`'s kernels, which must run.

    `images` (N, C, H, W) of seeded random pixels, given channels last where
    `data_format` says so; 4 classes; SGD with momentum, 2 epochs of 64.
    """
    rng = np.random.default_rng(seed)
    x = rng.random(images, dtype=np.float32)
    if data_format == "channels_last":
        (x,) = channels_last(x)
    t = rng.integers(0, 4, images[0])
    calls = spy_on_kernels(monkeypatch, module, names)

    def weights_after_fit():
        fw.set_seed(0)
        model = fw.Sequential([*body(), layers.Flatten(), layers.Affine(4), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(0.05, momentum=0.9))
        model.fit(x, t, batch_size=64, epochs=2, verbose=0)
        return model.get_weights()

    assert_same_with_and_without_kernels(monkeypatch, weights_after_fit)
    assert any(calls) and all(calls[len(calls) // 2:]), "the compiled kernels did not run"


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("size", [24, 15])  # maps of 22 x 22 and of 13 x 13 (an odd edge) after the convolution
def test_a_convnet_trains_to_the_same_weights_with_and_without(size, data_format, monkeypatch):
    # Channels last, the kernels hand back dx in another memory layout than
    # the lines: the convolution before them must still compute the same numbers.
    def body():
        return [layers.Conv2D(8, 3, data_format=data_format), layers.ReLU(),
                layers.MaxPooling2D(2, data_format=data_format),
                layers.Conv2D(6, 3, padding="same", activation="relu", data_format=data_format)]

    assert_a_convnet_trains_alike(monkeypatch, numpy_fused_pool, body, (192, 1, size, size), data_format, seed=6)
