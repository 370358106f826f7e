"""Convolution, pooling, Flatten, Reshape: the kit, direct-loop references, layouts, shapes, checkpoints."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framework as fw
from framework import layers
from framework.errors import InvalidArgumentError
from framework.layers import im2col as windows
from framework.testing import check_layer

from .conftest import to_host

# -- independent references: loops over every output cell, no im2col ---------


def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2  # Keras: the odd cell goes after


def reference_pads(h, w, kernel, strides, padding):
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return same_pads(h, kernel[0], strides[0]), same_pads(w, kernel[1], strides[1])
    return (padding, padding), (padding, padding)


def direct_conv(x, W, b, strides, padding):
    """out[n, f, y, x] = b[f] + sum W[f] * window, one output cell at a time (channels first)."""
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    (top, bottom), (left, right) = reference_pads(h, w, (kh, kw), strides, padding)
    xp = np.zeros((n, c, h + top + bottom, w + left + right))
    xp[:, :, top:top + h, left:left + w] = x
    oh = (xp.shape[2] - kh) // strides[0] + 1
    ow = (xp.shape[3] - kw) // strides[1] + 1
    out = np.zeros((n, f, oh, ow))
    for s in range(n):
        for k in range(f):
            for y in range(oh):
                for z in range(ow):
                    window = xp[s, :, y * strides[0]:y * strides[0] + kh, z * strides[1]:z * strides[1] + kw]
                    out[s, k, y, z] = np.sum(window * W[k]) + (b[k] if b is not None else 0.0)
    return out


def direct_pool(x, pool, strides, padding, reduce):
    """Max or mean of each window's real cells (padding takes no part), one output cell at a time."""
    n, c, h, w = x.shape
    (top, bottom), (left, right) = reference_pads(h, w, pool, strides, padding)
    oh = (h + top + bottom - pool[0]) // strides[0] + 1
    ow = (w + left + right - pool[1]) // strides[1] + 1
    out = np.zeros((n, c, oh, ow))
    for y in range(oh):
        for z in range(ow):
            y0, z0 = y * strides[0] - top, z * strides[1] - left
            window = x[:, :, max(y0, 0):y0 + pool[0], max(z0, 0):z0 + pool[1]]
            out[:, :, y, z] = reduce(window.reshape(n, c, -1), axis=2)
    return out


CONVS = [  # (filters, kernel, strides, padding, input (N, C, H, W))
    (2, (3, 3), (1, 1), "valid", (2, 2, 5, 6)),
    (2, (2, 3), (2, 1), "valid", (2, 3, 7, 5)),
    (4, (3, 3), (2, 2), "same", (2, 2, 6, 7)),
    (2, (4, 2), (3, 2), "same", (1, 1, 7, 6)),
    (3, (3, 3), (1, 1), 1, (2, 2, 5, 5)),
    (2, (5, 5), (2, 2), 2, (1, 1, 6, 7)),
    (2, (1, 1), (1, 1), "valid", (2, 3, 3, 4)),
]


def channels_last(shape):
    return (shape[0], shape[2], shape[3], shape[1])


# -- every layer passes the kit, on NumPy and the strict backend ---------------

KIT_CASES = [
    *(pytest.param(lambda f=f, k=k, s=s, p=p: layers.Convolution(f, k, strides=s, padding=p), shape,
                   id=f"conv-{k}-{s}-{p}") for f, k, s, p, shape in CONVS),
    *(pytest.param(lambda f=f, k=k, s=s, p=p: layers.Convolution(f, k, strides=s, padding=p,
                   data_format="channels_last"), channels_last(shape), id=f"conv-last-{k}-{s}-{p}")
      for f, k, s, p, shape in CONVS[::2]),
    pytest.param(lambda: layers.Conv2D(2, 3, activation="relu", use_bias=False), (2, 2, 5, 5), id="conv-relu-nobias"),
    pytest.param(lambda: layers.Conv2D(2, 2, strides=2, padding="same", kernel_regularizer=fw.regularizers.L2(0.1)),
                 (2, 2, 5, 5), id="conv-l2"),
    pytest.param(lambda: layers.Conv2D(2, 3, kernel_regularizer="l1", kernel_initializer="glorot_uniform",
                                       data_format="channels_last"), (2, 5, 4, 3), id="conv-l1-last"),
    pytest.param(lambda: layers.MaxPooling2D(), (2, 3, 4, 6), id="max-tiles"),
    pytest.param(lambda: layers.MaxPooling2D((2, 3)), (2, 2, 5, 7), id="max-tiles-cropped"),
    pytest.param(lambda: layers.MaxPooling2D(3, 2), (2, 2, 7, 6), id="max-overlap"),
    pytest.param(lambda: layers.MaxPooling2D(3, 2, padding="same"), (2, 2, 5, 6), id="max-same"),
    pytest.param(lambda: layers.MaxPooling2D(2, padding="same", data_format="channels_last"), (2, 5, 5, 3),
                 id="max-same-last"),
    pytest.param(lambda: layers.MaxPooling2D(2, data_format="channels_last"), (2, 4, 6, 3), id="max-tiles-last"),
    pytest.param(lambda: layers.Pooling(2, 2), (2, 2, 5, 5), id="book-pooling"),
    pytest.param(lambda: layers.Pooling(3, 2, stride=2, pad=1), (2, 2, 5, 6), id="book-pooling-pad"),
    pytest.param(lambda: layers.AveragePooling2D(), (2, 3, 4, 6), id="avg"),
    pytest.param(lambda: layers.AveragePooling2D(3, 2, padding="same"), (2, 2, 5, 6), id="avg-same"),
    pytest.param(lambda: layers.AveragePooling2D((2, 3), 1, data_format="channels_last"), (2, 5, 6, 2), id="avg-last"),
    pytest.param(lambda: layers.GlobalAveragePooling2D(), (2, 3, 5, 4), id="global-avg"),
    pytest.param(lambda: layers.GlobalAveragePooling2D("channels_last", keepdims=True), (2, 5, 4, 3), id="global-last"),
    pytest.param(lambda: layers.Flatten(), (2, 3, 5, 4), id="flatten"),
    pytest.param(lambda: layers.Reshape((5, -1)), (2, 3, 5, 4), id="reshape"),
    pytest.param(lambda: layers.Reshape((4, 5, 3)), (2, 60), id="reshape-to-image"),
]


@pytest.mark.parametrize("make, input_shape", KIT_CASES)
def test_layer_passes_the_kit(backend, make, input_shape):
    layer = make()
    report = check_layer(layer, input_shape)
    assert set(report.parameters) == {"input"} | set(layer.params)


def test_the_books_convolution_with_given_arrays_passes_the_kit(backend):
    rng = np.random.default_rng(1)
    W, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    layer = layers.Convolution(W=W, b=b, stride=2, pad=1)
    assert (layer.filters, layer.kernel_size, layer.strides, layer.padding) == (3, (3, 3), (2, 2), 1)
    check_layer(layer, (2, 2, 6, 5))


# -- outputs equal the direct loops ----------------------------------------


@pytest.mark.parametrize("filters, kernel, strides, padding, shape", CONVS)
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_convolution_equals_direct_loops(backend, float64, filters, kernel, strides, padding, shape, data_format):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    W, b = rng.standard_normal((filters, shape[1], *kernel)), rng.standard_normal(filters)
    layer = layers.Convolution(W=W, b=b, strides=strides, padding=padding, data_format=data_format)
    given = x if data_format == "channels_first" else x.transpose(0, 2, 3, 1)
    out = to_host(backend, layer.forward(backend.asarray(given)))
    if data_format == "channels_last":
        out = out.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out, direct_conv(x, W, b, strides, padding), rtol=1e-10, atol=1e-10)


POOLS = [  # (pool, strides, padding, input)
    ((2, 2), (2, 2), "valid", (2, 3, 6, 4)),
    ((2, 2), (2, 2), "valid", (2, 2, 5, 7)),
    ((3, 3), (2, 2), "valid", (2, 2, 7, 6)),
    ((3, 2), (1, 2), "same", (2, 2, 5, 5)),
    ((2, 2), (2, 2), "same", (1, 2, 5, 7)),
    ((3, 3), (2, 2), 1, (2, 1, 6, 5)),
]


@pytest.mark.parametrize("pool, strides, padding, shape", POOLS)
@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_pooling_equals_direct_loops(backend, float64, pool, strides, padding, shape, kind, data_format):
    x = np.random.default_rng(3).standard_normal(shape) - 3.0  # all negative: a zero pad would win a max
    cls = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    layer = cls(pool, strides, padding, data_format=data_format)
    given = x if data_format == "channels_first" else x.transpose(0, 2, 3, 1)
    out = to_host(backend, layer.forward(backend.asarray(given)))
    if data_format == "channels_last":
        out = out.transpose(0, 3, 1, 2)
    expected = direct_pool(x, pool, strides, padding, np.max if kind == "max" else np.mean)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_global_average_pooling_and_flatten_follow_the_layout(backend):
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5)).astype(np.float32)
    last = x.transpose(0, 2, 3, 1)
    pooled = to_host(backend, layers.GlobalAveragePooling2D("channels_last").forward(backend.asarray(last)))
    # atol: a GPU sums the 20 float32 values in another order, and the means are near 0 (cancellation)
    np.testing.assert_allclose(pooled, x.mean(axis=(2, 3)), rtol=1e-6, atol=1e-6)
    flat = to_host(backend, layers.Flatten().forward(backend.asarray(last)))
    np.testing.assert_array_equal(flat, last.reshape(2, -1))  # (height, width, channels) order, as Keras


# -- the tiling max pooling equals the im2col path, ties included -------------


@pytest.mark.parametrize("pool, shape", [((2, 2), (3, 4, 8, 6)), ((3, 2), (2, 2, 7, 7)), ((1, 3), (2, 2, 4, 6))])
def test_tiling_max_pooling_equals_the_im2col_path_with_ties(backend, pool, shape):
    rng = np.random.default_rng(5)
    x = np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float32)  # a ReLU's output: many tied zeros
    fast, plain = layers.MaxPooling2D(pool), layers.MaxPooling2D(pool)
    plain._tiles = lambda pads, out_size: False  # force the general path: the reference
    out_fast, out_plain = fast.forward(backend.asarray(x)), plain.forward(backend.asarray(x))
    assert fast.fast and not plain.fast
    np.testing.assert_array_equal(to_host(backend, out_fast), to_host(backend, out_plain))
    dout = backend.asarray(rng.standard_normal(tuple(out_fast.shape)).astype(np.float32))
    dx_fast, dx_plain = to_host(backend, fast.backward(dout)), to_host(backend, plain.backward(dout))
    np.testing.assert_array_equal(dx_fast, dx_plain)
    # each window sends its gradient to one cell only, the first maximum (the book's argmax)
    assert np.count_nonzero(dx_fast) <= np.count_nonzero(to_host(backend, dout))


# -- channels_last gives the same numbers as channels_first -------------------


def test_a_channels_last_cnn_equals_the_channels_first_one_up_to_layout(backend):
    x = np.random.default_rng(6).standard_normal((4, 2, 9, 8)).astype(np.float32)

    def model(data_format, input_shape):
        fw.set_seed(11)
        model = fw.Sequential([
            layers.Convolution(3, 3, padding="same", activation="relu", data_format=data_format),
            layers.MaxPooling2D(2, data_format=data_format),
            layers.Convolution(2, 2, strides=2, data_format=data_format),
            layers.AveragePooling2D(2, 1, padding="same", data_format=data_format),
            layers.GlobalAveragePooling2D(data_format),
        ])
        model.build(input_shape)
        return model

    first, last = model("channels_first", (None, 2, 9, 8)), model("channels_last", (None, 9, 8, 2))
    for a, b in zip(first.get_weights(), last.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same W (F, C, kh, kw) whatever the format
    np.testing.assert_allclose(first.predict(x), last.predict(x.transpose(0, 2, 3, 1)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
def test_the_gradients_do_not_depend_on_how_dout_lies_in_memory(data_format):
    # A channels-last layer may get dout as (N, H, W, F) memory (from a pooling
    # kernel) or as a transposed view of (N, F, H, W) memory (from the lines):
    # the same numbers must give the same gradients, bit for bit.
    rng = np.random.default_rng(8)
    layer = layers.Convolution(6, 3, padding="same", data_format=data_format)
    x = rng.standard_normal((16, 9, 10, 3) if data_format == "channels_last" else (16, 3, 9, 10)).astype(np.float32)
    layer.build(x.shape)
    layer.needs_input_grad = True
    out = layer.forward(x, training=True)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    other = np.asfortranarray(dout)  # the same numbers, the axes in memory the other way round
    results = []
    for given in (dout, other):
        dx = layer.backward(given)
        results.append([np.array(a) for a in (dx, layer.grads["W"], layer.grads["b"])])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


# -- shapes without data, and impossible shapes --------------------------------


def test_summary_shows_shapes_before_training():
    model = fw.Sequential([layers.Conv2D(8, 3, padding="same"), layers.MaxPooling2D(), layers.Flatten(),
                           layers.Reshape((8, -1)), layers.Flatten(), layers.Dense(10)])
    model.build((None, 1, 9, 9))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for shape in ["(None, 8, 9, 9)", "(None, 8, 4, 4)", "(None, 128)", "(None, 8, 16)", "(None, 10)"]:
        assert shape in text
    assert "Total params: 1,370" in text  # 8*1*3*3 + 8 + 128*10 + 10


@pytest.mark.parametrize("make, input_shape, words", [
    (lambda: layers.Convolution(2, 5, name="conv_a"), (None, 1, 4, 8), ["conv_a", "(5, 5)", "(4, 8)"]),
    (lambda: layers.Convolution(2, 4, padding=1, name="conv_b"), (None, 3, 1, 1), ["conv_b", "(4, 4)", "(3, 3)"]),
    (lambda: layers.MaxPooling2D(3, name="pool_a"), (None, 2, 2, 5), ["pool_a", "(3, 3)", "(2, 5)"]),
    (lambda: layers.Convolution(2, 3, name="conv_c"), (None, 9, 9), ["conv_c", "4-d", "(None, 9, 9)"]),
    (lambda: layers.Convolution(W=np.ones((2, 3, 2, 2)), name="conv_d"), (None, 2, 5, 5), ["conv_d", "(2, 3, 2, 2)", "2 channels"]),
    (lambda: layers.Reshape((7, -1), name="reshape_a"), (None, 3, 5), ["reshape_a", "(7, -1)", "15"]),
])
def test_impossible_shapes_fail_at_build_naming_the_layer_and_shapes(make, input_shape, words):
    model = fw.Sequential([make()])
    with pytest.raises(InvalidArgumentError) as info:
        model.build(input_shape)
    assert all(word in str(info.value) for word in words), str(info.value)
    assert not model.built and not model.layers[0].built


@pytest.mark.parametrize("make, words", [
    (lambda: layers.Convolution(4, 3, strides=0), ["strides=0"]),
    (lambda: layers.Convolution(4, (3, 0)), ["kernel_size=(3, 0)"]),
    (lambda: layers.Convolution(0, 3), ["filters=0"]),
    (lambda: layers.Convolution(4, 3, padding="full"), ["padding='full'"]),
    (lambda: layers.Convolution(4, 3, data_format="NCHW"), ["data_format='NCHW'"]),
    (lambda: layers.Convolution(4, 3, kernel_regularizer="l3"), ["kernel_regularizer='l3'"]),
    (lambda: layers.Convolution(4, 3, kernel_initializer="nope"), ["kernel_initializer", "nope"]),
    (lambda: layers.Convolution(4, 3, activation="nope"), ["nope"]),
    (lambda: layers.MaxPooling2D(strides=(1, 0)), ["strides=(1, 0)"]),
    (lambda: layers.Pooling(2, 2, pad=2), ["padding=2"]),
    (lambda: layers.Reshape((2, -1, -1)), ["target_shape=(2, -1, -1)"]),
])
def test_bad_arguments_get_the_frameworks_error(make, words):
    with pytest.raises(InvalidArgumentError) as info:
        make()
    assert all(word in str(info.value) for word in words), str(info.value)


def test_same_padding_puts_the_odd_cell_after_as_keras():
    assert windows.padding_amounts(6, 3, 2, "same") == (0, 1)  # out 3: (3-1)*2 + 3 - 6 = 1, after
    assert windows.padding_amounts(5, 4, 1, "same") == (1, 2)
    layer = layers.Convolution(1, 3, strides=2, padding="same")
    assert layer.compute_output_shape((None, 1, 7, 6)) == (None, 1, 4, 3)  # ceil(n / stride)


# -- the column matrix is what the docs say ------------------------------------


def test_im2col_columns_are_the_windows_and_col2im_is_its_adjoint(backend, float64):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 5, 6))
    kernel, strides, pads = (2, 3), (2, 1), ((1, 0), (0, 2))
    col = to_host(backend, windows.im2col(backend.asarray(x), kernel, strides, pads))
    padded = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    oh, ow = (padded.shape[2] - 2) // 2 + 1, (padded.shape[3] - 3) + 1
    assert col.shape == (2, 3 * 2 * 3, oh * ow)
    for y in range(oh):
        for z in range(ow):
            np.testing.assert_array_equal(col[:, :, y * ow + z],
                                          padded[:, :, 2 * y:2 * y + 2, z:z + 3].reshape(2, -1))
    # <im2col(x), c> == <x, col2im(c)> for any c: col2im is the adjoint (the backward pass)
    c = rng.standard_normal(col.shape)
    back = to_host(backend, windows.col2im(backend.asarray(c), x.shape, kernel, strides, pads))
    np.testing.assert_allclose(np.sum(col * c), np.sum(x * back), rtol=1e-12)


# -- kernel_regularizer, as the regularizers contract says -------------------


def test_the_kernel_regularizer_adds_its_penalty_to_the_loss_and_its_gradient_to_dw(backend):
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((6, 1, 5, 5)).astype(np.float32), rng.integers(0, 3, 6)

    def model(regularizer):
        fw.set_seed(5)
        model = fw.Sequential([layers.Conv2D(2, 3, kernel_regularizer=regularizer), layers.Flatten(),
                               layers.Dense(3), layers.SoftmaxWithLoss()])
        model.compile(optimizer=fw.optimizers.SGD(learning_rate=0.1))
        model.build((None, 1, 5, 5))
        return model

    plain, regularized = model(None), model(fw.regularizers.L2(0.5))
    W = plain.get_weights()[0]
    penalty = 0.5 * np.sum(W.astype(np.float64) ** 2)
    assert np.isclose(regularized.evaluate(x, y), plain.evaluate(x, y) + penalty, rtol=1e-5)
    conv = regularized.layers[0]
    assert np.isclose(float(conv.regularization_loss()), penalty, rtol=1e-5)
    regularized.train_on_batch(x, y)
    plain.train_on_batch(x, y)
    # SGD: the regularized step also moves W by lr * 2 * 0.5 * W
    step_difference = plain.get_weights()[0] - regularized.get_weights()[0]
    np.testing.assert_allclose(step_difference, 0.1 * 2 * 0.5 * W, rtol=1e-4, atol=1e-6)


# -- save/load in a fresh process; configs round-trip --------------------------

LOAD_AND_PREDICT = textwrap.dedent("""
    import sys
    import numpy as np
    import framework as fw
    model = fw.load_model(sys.argv[1])
    np.save(sys.argv[3], model.predict(np.load(sys.argv[2])))
""")


def test_a_cnn_survives_save_and_load_in_a_fresh_process(tmp_path):
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((32, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, 32)
    fw.set_seed(3)
    model = fw.Sequential([
        layers.Reshape((1, 8, 8)),
        layers.Conv2D(4, (3, 2), strides=(1, 2), padding="same", activation="relu",
                      kernel_regularizer=fw.regularizers.L2(1e-3)),
        layers.Pooling(2, 2, stride=2), layers.AveragePooling2D(2, 1, padding="same"),
        layers.Convolution(3, 1, data_format="channels_first", use_bias=False), layers.Reshape((4, 2, 3)),
        layers.Conv2D(2, 2, padding=1, data_format="channels_last"), layers.MaxPooling2D(3, 2, padding="same",
                                                                                         data_format="channels_last"),
        layers.GlobalAveragePooling2D("channels_last", keepdims=True), layers.Flatten(), layers.Dense(3),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "cnn.h5")
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, FRAMEWORK_BACKEND="numpy")
    env.pop("FRAMEWORK_PLUGINS", None)
    subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(tmp_path / "cnn.h5"), str(tmp_path / "x.npy"),
                    str(tmp_path / "out.npy")], check=True, env=env)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), model.predict(x))
    loaded = fw.load_model(tmp_path / "cnn.h5")
    assert json.dumps(loaded.get_config()) == json.dumps(model.get_config())


@pytest.mark.parametrize("layer", [
    layers.Convolution(5, (3, 2), strides=(2, 1), padding="same", activation="relu", use_bias=False,
                       kernel_initializer="glorot_uniform", data_format="channels_last",
                       kernel_regularizer=fw.regularizers.L1L2(l1=0.01, l2=0.02)),
    layers.Pooling(3, 2, stride=1, pad=1), layers.MaxPooling2D((2, 3), padding="same"),
    layers.AveragePooling2D(3, (1, 2)), layers.GlobalAveragePooling2D(keepdims=True), layers.Reshape((3, -1)),
    layers.Flatten(),
], ids=lambda layer: type(layer).__name__)
def test_configs_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    assert vars(clone).keys() == vars(layer).keys()


def test_a_cnn_round_trips_through_the_keras_layout(tmp_path):
    pytest.importorskip("h5py")
    fw.set_seed(2)
    model = fw.Sequential([
        layers.Conv2D(3, 3, padding="same", activation="relu"), layers.Pooling(2, 2, stride=2),
        layers.Conv2D(2, (2, 1), strides=(1, 2)), layers.AveragePooling2D(2, 1, padding="same"),
        layers.MaxPooling2D(2, padding="same"), layers.Flatten(), layers.Dense(3),
    ])
    model.build((None, 1, 8, 7))
    x = np.random.default_rng(10).standard_normal((4, 1, 8, 7)).astype(np.float32)
    model.save(tmp_path / "cnn.h5", format="keras_h5")
    loaded = fw.load_model(tmp_path / "cnn.h5")
    assert [type(layer).__name__ for layer in loaded.layers[:5]] == [
        "Convolution", "MaxPooling2D", "Convolution", "AveragePooling2D", "MaxPooling2D"]  # Pooling is Keras's max
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6, atol=1e-6)
    padded = fw.Sequential([layers.Pooling(3, 3, stride=1, pad=1)])
    padded.build((None, 1, 4, 4))
    with pytest.raises(fw.CheckpointError, match="padding 1"):
        padded.save(tmp_path / "padded.h5", format="keras_h5")
