"""mkdocs hook: draw the tutorial's computational graphs during the build.

Every value on these figures is computed here, at build time, by the
framework's own ``AddLayer``, ``MulLayer`` and ``Sigmoid``: forward through
the nodes, then backward from 1. scripts/compgraph.py draws them. The SVGs
are added to the site as ``figures/graphs/<name>.svg``; the pages link them
like any figure.
"""

import pathlib
import sys
import shutil
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from compgraph import Graph  # noqa: E402  (scripts/, just added)


def add_mul():
    """(x + y) * z at x = -2, y = 5, z = -4."""
    from framework import layers

    x, y, z = -2.0, 5.0, -4.0
    add, mul = layers.AddLayer(), layers.MulLayer()
    q = add.forward(x, y)
    f = mul.forward(q, z)
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)

    g = Graph()
    nx, ny, nz = g.input("x", 0, 0), g.input("y", 0, 1), g.input("z", 0, 2)
    n_add, n_mul = g.node("+", 1, 0.5), g.node("×", 2, 1.25)
    out = g.output("f", 3, 1.25)
    g.edge(nx, n_add, x, dx)
    g.edge(ny, n_add, y, dy)
    g.edge(n_add, n_mul, q, dq)
    g.edge(nz, n_mul, z, dz)
    g.edge(n_mul, out, f, 1.0)
    return g


def apples():
    """The price a * n * t of n = 2 apples at a = 100, tax t = 1.1."""
    from framework import layers

    a, n, t = 100.0, 2.0, 1.1
    mul_apple, mul_tax = layers.MulLayer(), layers.MulLayer()
    before_tax = mul_apple.forward(a, n)
    price = mul_tax.forward(before_tax, t)
    dbefore, dt = mul_tax.backward(1.0)
    da, dn = mul_apple.backward(dbefore)

    g = Graph()
    na, nn = g.input("apple", 0, 0), g.input("count", 0, 1)
    nt = g.input("tax", 0, 2)
    m1, m2 = g.node("×", 1, 0.5), g.node("×", 2, 1.25)
    out = g.output("price", 3, 1.25)
    g.edge(na, m1, a, da)
    g.edge(nn, m1, n, dn)
    g.edge(m1, m2, before_tax, dbefore)
    g.edge(nt, m2, t, dt)
    g.edge(m2, out, price, 1.0)
    return g


def neuron():
    """f = sigmoid(w0 x0 + w1 x1 + w2), w = (2, -3, -3), x = (-1, -2)."""
    from framework import layers

    w0, x0, w1, x1, w2 = 2.0, -1.0, -3.0, -2.0, -3.0
    mul0, mul1 = layers.MulLayer(), layers.MulLayer()
    add, add_bias, sigmoid = layers.AddLayer(), layers.AddLayer(), layers.Sigmoid()
    p0, p1 = mul0.forward(w0, x0), mul1.forward(w1, x1)
    s = add.forward(p0, p1)
    z = add_bias.forward(s, w2)
    f = sigmoid.forward(np.array([[z]]))[0, 0]
    dz = sigmoid.backward(np.ones((1, 1)))[0, 0]
    ds, dw2 = add_bias.backward(dz)
    dp0, dp1 = add.backward(ds)
    dw0, dx0 = mul0.backward(dp0)
    dw1, dx1 = mul1.backward(dp1)

    g = Graph()
    i_w0, i_x0 = g.input("w0", 0, 0), g.input("x0", 0, 1)
    i_w1, i_x1 = g.input("w1", 0, 2), g.input("x1", 0, 3)
    i_w2 = g.input("w2", 2, 3.25)
    n_m0, n_m1 = g.node("×", 1, 0.5), g.node("×", 1, 2.5)
    n_add, n_bias = g.node("+", 2, 1.5), g.node("+", 3, 2)
    n_sig, out = g.node("σ", 4, 2), g.output("f", 5, 2)
    for source, target, forward, backward in [
        (i_w0, n_m0, w0, dw0), (i_x0, n_m0, x0, dx0),
        (i_w1, n_m1, w1, dw1), (i_x1, n_m1, x1, dx1),
        (n_m0, n_add, p0, dp0), (n_m1, n_add, p1, dp1),
        (n_add, n_bias, s, ds), (i_w2, n_bias, w2, dw2),
        (n_bias, n_sig, z, dz), (n_sig, out, f, 1.0),
    ]:
        g.edge(source, target, float(forward), float(backward))
    return g


def times_three_times_four():
    """out = 4 * (3 * x) at x = 2: two multiply nodes by constants."""
    from framework import layers

    x = 2.0
    times3, times4 = layers.MulLayer(), layers.MulLayer()
    q = times3.forward(x, 3.0)
    out = times4.forward(q, 4.0)
    dq, _ = times4.backward(1.0)
    dx, _ = times3.backward(dq)

    g = Graph()
    nx, n3 = g.input("x", 0, 0), g.node("×3", 1, 0)
    n4, nout = g.node("×4", 2, 0), g.output("out", 3, 0)
    g.edge(nx, n3, x, dx)
    g.edge(n3, n4, q, dq)
    g.edge(n4, nout, out, 1.0)
    return g


GRAPHS = {
    "add-mul": (add_mul, "(x + y) z at (-2, 5, -4)"),
    "apples": (apples, "the price of 2 apples at 100 with 10% tax"),
    "neuron": (neuron, "a sigmoid neuron, node by node"),
    "times-3-times-4": (times_three_times_four, "out = 4 (3x) at x = 2"),
}


def svgs():
    """{file name: SVG text} of every figure, computed now."""
    return {f"{name}.svg": build().svg(title) for name, (build, title) in GRAPHS.items()}


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    # Written to a scratch folder rather than added as generated files: the
    # i18n plugin needs every file to have a source path.
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="docs-graphs-"))
    for name, text in svgs().items():
        path = scratch / "figures" / "graphs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files.append(File(f"figures/graphs/{name}", str(scratch), config["site_dir"],
                          config["use_directory_urls"]))
    return files


def on_post_build(config, **kwargs):
    for folder in pathlib.Path(tempfile.gettempdir()).glob("docs-graphs-*"):
        shutil.rmtree(folder, ignore_errors=True)
