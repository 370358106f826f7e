"""The tutorial's graph figures: drawn from the framework's own node layers
(docs/hooks/graph_figures.py, run by the docs build), checked here against
the values worked out by hand, and the drawing helper against its input."""

import importlib.util
import math
import pathlib
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _hook():
    spec = importlib.util.spec_from_file_location(
        "graph_figures", ROOT / "docs" / "hooks" / "graph_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _edges(graph):
    """{(source label, target label): (forward, backward)}"""
    return {(e.source.label, e.target.label): (e.forward, e.backward) for e in graph.edges}


def _close(got, want):
    return all(math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12) for g, w in zip(got, want))


def test_add_mul_graph_has_the_hand_worked_values():
    edges = _edges(_hook().add_mul())
    # q = x + y = 3, f = q z = -12; df/dq = z, df/dz = q, the add passes df/dq on.
    want = {("x", "+"): (-2, -4), ("y", "+"): (5, -4), ("+", "×"): (3, -4),
            ("z", "×"): (-4, 3), ("×", "f"): (-12, 1)}
    assert edges.keys() == want.keys()
    assert all(_close(edges[k], want[k]) for k in want), edges


def test_apple_graph_has_the_books_values():
    edges = _edges(_hook().apples())
    want = {("apple", "×"): (100, 2.2), ("count", "×"): (2, 110), ("×", "×"): (200, 1.1),
            ("tax", "×"): (1.1, 200), ("×", "price"): (220, 1)}
    assert all(_close(edges[k], want[k]) for k in want), edges


def test_neuron_graph_matches_the_sigmoid_derivative():
    edges = _edges(_hook().neuron())
    f = 1 / (1 + math.exp(-1.0))          # z = 2(-1) + (-3)(-2) - 3 = 1
    local = f * (1 - f)
    assert _close(edges[("σ", "f")], (f, 1))
    assert _close(edges[("w2", "+")], (-3, local))
    by_input = {k[0]: v for k, v in edges.items() if k[0] in ("w0", "x0", "w1", "x1")}
    want = {"w0": (2, local * -1), "x0": (-1, local * 2),
            "w1": (-3, local * -2), "x1": (-2, local * -3)}
    assert all(_close(by_input[k], want[k]) for k in want), by_input


def test_times_three_times_four():
    edges = _edges(_hook().times_three_times_four())
    assert edges == {("x", "×3"): (2, 12), ("×3", "×4"): (6, 4), ("×4", "out"): (24, 1)}


def test_every_figure_is_svg_showing_its_values():
    for name, text in _hook().svgs().items():
        tree = ET.fromstring(text)
        assert tree.tag.endswith("svg"), name
    text = _hook().svgs()["add-mul.svg"]
    assert 'class="forward">-12<' in text and 'class="backward" fill="#c62828">3<' in text
