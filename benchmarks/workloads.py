"""The benchmark rows: each model as the framework builds it, its floor, and the same model in PyTorch.

A row is timed as one epoch over the same synthetic data (float32,
uniform inputs, random labels; the data only has to be realistic enough
that no unit of the network sits in float32 denormals). The floor of a
row is the matrix products its layers need, done alone in NumPy on
arrays of the same shapes: a NumPy framework cannot beat it. Every
function here returns seconds.
"""

import time

import numpy as np

SIZES = (784, 256, 256, 10)
ROWS = {
    # name: (model, optimizer, batch size, what is timed)
    "mlp-sgd-32": ("mlp", "sgd", 32, "fit"),
    "mlp-sgd-128": ("mlp", "sgd", 128, "fit"),
    "mlp-sgd-512": ("mlp", "sgd", 512, "fit"),
    "mlp-adam-128": ("mlp", "adam", 128, "fit"),
    "mlp-bn-dropout-128": ("mlp-bn-dropout", "sgd", 128, "fit"),
    "predict-1024": ("mlp", "sgd", 1024, "predict"),
    "simple-conv-net-100": ("cnn", "sgd", 100, "fit"),  # the book's, from benchmarks/cnn.py
    "simple-conv-net-bn-100": ("cnn-bn", "sgd", 100, "fit"),  # the same with BatchNormalization after the convolution
    "simple-conv-net-last-100": ("cnn-last", "sgd", 100, "fit"),  # the same channels last, (N, 28, 28, 1) images
    "simple-conv-net-bn-last-100": ("cnn-bn-last", "sgd", 100, "fit"),  # with BatchNormalization, channels last
}
CNN_SAMPLES = 6000  # the SimpleConvNet rows train on at most this many images (as benchmarks/cnn.py)


def is_cnn(model):
    return model in ("cnn", "cnn-bn", "cnn-last", "cnn-bn-last")


def has_batch_norm(model):
    return model in ("cnn-bn", "cnn-bn-last")


def is_channels_last(model):
    return model in ("cnn-last", "cnn-bn-last")


def row_samples(row, samples):
    return min(samples, CNN_SAMPLES) if is_cnn(ROWS[row][0]) else samples


def data(samples, model="mlp"):
    rng = np.random.default_rng(0)
    shape = (28, 28, 1) if is_channels_last(model) else (1, 28, 28) if is_cnn(model) else (SIZES[0],)
    x = rng.random((samples, *shape), dtype=np.float32)
    t = rng.integers(0, SIZES[-1], samples)
    return x, t


# -- the floor --------------------------------------------------------------
def floor_epoch(x, batch_size, weights, what):
    """The matrix products of one epoch alone: 3 forward; when training 2 for dx and 3 for dW per batch."""
    W1, W2, W3 = weights
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size]
        h1 = xb @ W1
        h2 = h1 @ W2
        out = h2 @ W3
        if what == "fit":
            d2 = out @ W3.T
            d1 = d2 @ W2.T
            _ = h2.T @ out, h1.T @ d2, xb.T @ d1
    return time.perf_counter() - start


def floor_weights(model="mlp"):
    rng = np.random.default_rng(1)
    shapes = CNN_SHAPES if is_cnn(model) else list(zip(SIZES, SIZES[1:]))
    return [rng.standard_normal(shape).astype(np.float32) * 0.05 for shape in shapes]


# The SimpleConvNet's products: im2col'd 5x5 patches (N*24*24, 25) @ (25, 30)
# filters, then after 2x2 pooling Affine (N, 30*12*12) @ (4320, 100) and (N, 100) @ (100, 10).
CNN_SHAPES = [(25, 30), (30 * 12 * 12, 100), (100, 10)]


def cnn_floor_epoch(x, batch_size, weights):
    """The SimpleConvNet's products: 3 forward; dx of both Affines; dW of all 3 (the convolution needs no dx).

    The arrays between the products (im2col's patches, the pooled maps, the
    convolution's gradient) come ready made: making them is the layers' work.
    """
    F, W1, W2 = weights
    rng = np.random.default_rng(2)
    cols = rng.random((batch_size * 24 * 24, 25), dtype=np.float32)
    pooled_all = rng.random((batch_size, 30 * 12 * 12), dtype=np.float32)
    dconvs = rng.random((batch_size * 24 * 24, 30), dtype=np.float32)
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        n = len(x[i : i + batch_size])
        col, pooled, dconv = cols[: n * 576], pooled_all[:n], dconvs[: n * 576]
        _ = col @ F
        h = pooled @ W1
        out = h @ W2
        dh = out @ W2.T
        _ = dh @ W1.T
        _ = h.T @ out, pooled.T @ dh, col.T @ dconv
    return time.perf_counter() - start


# -- the framework ----------------------------------------------------------
def framework_model(model, optimizer):
    import framework as fw
    from framework import layers

    fw.set_seed(0)
    if is_cnn(model):
        import cnn

        return cnn.simple_conv_net(batch_norm=has_batch_norm(model),
                                   data_format="channels_last" if is_channels_last(model) else "channels_first")
    body = []
    for units in SIZES[1:-1]:
        body.append(layers.Affine(units))
        if model == "mlp-bn-dropout":
            body.append(layers.BatchNormalization())
        body.append(layers.ReLU())
        if model == "mlp-bn-dropout":
            body.append(layers.Dropout(0.2))
    net = fw.Sequential([*body, layers.Affine(SIZES[-1]), layers.SoftmaxWithLoss()])
    opt = fw.optimizers.SGD(learning_rate=0.01) if optimizer == "sgd" else fw.optimizers.Adam(1e-3)
    net.compile(optimizer=opt)
    return net


def framework_epoch(net, x, t, batch_size, what):
    start = time.perf_counter()
    if what == "fit":
        net.fit(x, t, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
    else:
        net.predict(x, batch_size=batch_size)
    return time.perf_counter() - start


# -- PyTorch, the same models -----------------------------------------------
def torch_model(model, optimizer):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if is_cnn(model):
        import cnn

        return cnn.torch_model(torch, batch_norm=has_batch_norm(model))
    body = []
    for a, b in zip(SIZES, SIZES[1:-1]):
        body.append(nn.Linear(a, b))
        if model == "mlp-bn-dropout":
            body.append(nn.BatchNorm1d(b))
        body.append(nn.ReLU())
        if model == "mlp-bn-dropout":
            body.append(nn.Dropout(0.2))
    net = nn.Sequential(*body, nn.Linear(SIZES[-2], SIZES[-1]))
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    return net, opt


def torch_epoch(net_opt, x, t, batch_size, what, device=None):
    """One epoch as a PyTorch user writes it: shuffled batches, loss.item() summed for the log.

    With a CUDA `device` (benchmarks/gpu.py), each batch is copied there (a
    no-op for data already on it), predictions come back to the host, and
    the time includes the device finishing its work.
    """
    import torch

    net, opt = net_opt
    to_device = (lambda a: a) if device is None else (lambda a: a.to(device))
    to_host = (lambda a: a) if device is None else (lambda a: a.cpu())
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    if what == "fit":
        net.train()
        total = 0.0
        for index in torch.randperm(len(x)).split(batch_size):
            opt.zero_grad()
            loss = loss_fn(net(to_device(x[index])), to_device(t[index]))
            loss.backward()
            opt.step()
            total += loss.item() * len(index)
    else:
        net.eval()
        with torch.no_grad():
            out = [to_host(torch.softmax(net(to_device(xb)), dim=1)) for xb in x.split(batch_size)]
            torch.cat(out)
    if device is not None:
        torch.cuda.synchronize(device)
    return time.perf_counter() - start
