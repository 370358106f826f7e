"""Draw a computational graph as SVG, in the book's style.

Nodes are circles holding their operation; each edge carries its forward
value above it and its backward gradient below it (in red). Nothing here
knows about the framework: give it the numbers, however you computed them.

    from compgraph import Graph

    g = Graph()
    x = g.input("x", col=0, row=0)
    y = g.input("y", col=0, row=1)
    add = g.node("+", col=1, row=0.5)
    f = g.output("f", col=2, row=0.5)
    g.edge(x, add, forward=-2, backward=-4)
    g.edge(y, add, forward=5, backward=-4)
    g.edge(add, f, forward=3, backward=1)
    svg_text = g.svg()          # a string: write it to a .svg file

Columns and rows are grid positions (fractions allowed); the picture is
sized to fit them.
"""

from dataclasses import dataclass, field
from html import escape

_CELL_X, _CELL_Y = 150, 90   # pixels per column and per row
_MARGIN = 40
_RADIUS = 22


@dataclass
class _Node:
    label: str
    col: float
    row: float
    kind: str  # "input", "op" or "output"


@dataclass
class _Edge:
    source: _Node
    target: _Node
    forward: object
    backward: object


@dataclass
class Graph:
    """A graph of nodes and of edges labelled with forward and backward values."""

    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)

    def input(self, label, col, row):
        """A named input: drawn as its name, at the left end of its edge."""
        return self._add(label, col, row, "input")

    def node(self, label, col, row):
        """An operation node: drawn as a circle with ``label`` inside."""
        return self._add(label, col, row, "op")

    def output(self, label, col, row):
        """The graph's result: drawn as its name, at the right end of its edge."""
        return self._add(label, col, row, "output")

    def edge(self, source, target, forward, backward):
        """An edge from ``source`` to ``target`` with its two values."""
        self.edges.append(_Edge(source, target, forward, backward))

    def _add(self, label, col, row, kind):
        node = _Node(label, col, row, kind)
        self.nodes.append(node)
        return node

    def svg(self, title=""):
        """The picture as an SVG document (a string)."""
        width = _MARGIN * 2 + _CELL_X * max(n.col for n in self.nodes) + 40
        height = _MARGIN * 2 + _CELL_Y * max(n.row for n in self.nodes) + 20
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            'font-family="sans-serif" font-size="14" role="img">',
            f"<title>{escape(title)}</title>",
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
        ]
        parts += [self._edge_svg(edge) for edge in self.edges]
        parts += [self._node_svg(node) for node in self.nodes]
        parts.append("</svg>")
        return "\n".join(parts) + "\n"

    @staticmethod
    def _centre(node):
        return _MARGIN + 20 + node.col * _CELL_X, _MARGIN + 10 + node.row * _CELL_Y

    def _ends(self, edge):
        """Where the edge's line starts and stops: at circles' rims, or text."""
        (x0, y0), (x1, y1) = self._centre(edge.source), self._centre(edge.target)
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        start = _RADIUS if edge.source.kind == "op" else 14
        stop = _RADIUS if edge.target.kind == "op" else 14
        return x0 + ux * start, y0 + uy * start, x1 - ux * stop, y1 - uy * stop

    def _edge_svg(self, edge):
        x0, y0, x1, y1 = self._ends(edge)
        # The values sit over the edge's middle: forward above, backward below.
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        return (
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
            'stroke="#333" stroke-width="1.5" marker-end="url(#arrow)"/>\n'
            f'<text x="{mx:.1f}" y="{my - 7:.1f}" text-anchor="middle" '
            f'class="forward">{escape(_number(edge.forward))}</text>\n'
            f'<text x="{mx:.1f}" y="{my + 19:.1f}" text-anchor="middle" '
            f'class="backward" fill="#c62828">{escape(_number(edge.backward))}</text>'
        )

    def _node_svg(self, node):
        x, y = self._centre(node)
        label = escape(node.label)
        if node.kind != "op":
            anchor = "end" if node.kind == "input" else "start"
            shift = 4 if node.kind == "input" else -4
            return (f'<text x="{x + shift:.1f}" y="{y + 5:.1f}" text-anchor="{anchor}" '
                    f'font-style="italic" font-size="16">{label}</text>')
        return (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{_RADIUS}" fill="#fff" '
            'stroke="#333" stroke-width="1.5"/>\n'
            f'<text x="{x:.1f}" y="{y + 5:.1f}" text-anchor="middle" '
            f'font-size="15">{label}</text>'
        )


def _number(value):
    """A value as the book prints it: at most 4 significant digits."""
    if isinstance(value, str):
        return value
    value = float(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"
