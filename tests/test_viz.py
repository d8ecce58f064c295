"""draw_graph and render_graph: what the DOT source shows, and how files get rendered.

Golden files live in tests/golden/; after a deliberate change to the drawing (or to an op's
label, expr or formula) regenerate them with AUTOGRAD_MINI_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import viz

GOLDEN = Path(__file__).parent / "golden"
NODE = re.compile(r"^\t(t\d+|op\d+) \[(.*)\]$", re.M)
EDGE = re.compile(r"^\t(t\d+|op\d+) -> (t\d+|op\d+)(?: \[(.*)\])?$", re.M)


def mse(n: int = 100, seed: int = 0) -> tuple[am.Tensor, am.Tensor, am.Tensor, am.Tensor]:
    """The MSE graph of the README: loss = mean((X·w − y)²)."""
    rng = np.random.default_rng(seed)
    X = am.tensor(rng.standard_normal((n, 3)), name="X")
    y = am.tensor(rng.standard_normal((n, 1)), name="y")
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    loss = ((X @ w - y) ** 2).mean()
    return X, y, w, loss


def nodes(source: str) -> dict[str, str]:
    """Graph node id → its attribute text (legend nodes left out)."""
    return dict(NODE.findall(source))


def edges(source: str) -> list[tuple[str, str, str]]:
    return EDGE.findall(source)


def node_of(source: str, name: str) -> str:
    """The attributes of the tensor node whose bold name is `name`."""
    found = [attrs for attrs in nodes(source).values() if f"<b>{name}</b>" in attrs]
    assert len(found) == 1, f"{len(found)} nodes named {name!r}"
    return found[0]


def label_of(attrs: str) -> str:
    found = re.search(r'label="([^"]*)"', attrs)
    assert found, attrs
    return found.group(1)


# ---- the MSE graph ---------------------------------------------------------------------------


def test_mse_graph_has_a_node_per_tensor_and_per_op() -> None:
    *_, loss = mse()
    src = am.draw_graph(loss).source
    ids = nodes(src)
    assert sorted(i for i in ids if i.startswith("t")) == [f"t{k}" for k in range(7)]
    assert sorted(i for i in ids if i.startswith("op")) == ["op2", "op4", "op5", "op6"]
    # matmul, sub: two inputs and an output each; pow, mean: one input and an output.
    assert len(edges(src)) == 10
    for name in ("X", "w", "y"):
        node_of(src, name)
    for label in ("matmul", "sub", "pow 2", "mean"):
        assert f"<b>{label}</b>" in src


def tensor_names(source: str) -> list[str]:
    """The bold names of the tensor boxes, in drawing order."""
    return [re.search(r"<b>(.*?)</b>", attrs).group(1)  # type: ignore[union-attr]
            for node_id, attrs in NODE.findall(source) if node_id.startswith("t")]


def test_unnamed_tensors_are_numbered_without_gaps_and_the_root_is_L_as_explain_says() -> None:
    *_, w, loss = mse()
    assert tensor_names(am.draw_graph(loss).source) == ["X", "w", "t1", "y", "t2", "t3", "L"]
    assert "∂L/∂w" in str(am.explain(loss, wrt=w))  # the same name in the derivation
    backward = am.draw_graph(loss, backward=True).source
    assert "t1 − y" in backward and "(L)" not in backward


def test_automatic_names_never_repeat_a_name_the_user_gave() -> None:
    x = am.tensor(np.ones(3), requires_grad=True, name="t1")
    c = am.tensor(np.full(3, 2.0), name="L")
    names = tensor_names(am.draw_graph(((x * c) + 1.0).sum()).source)
    assert names == ["t1", "L", "t2", "t3", "t4", "L′"]
    assert len(set(names)) == len(names)


def test_a_named_root_keeps_its_name() -> None:
    *_, loss = mse()
    loss.name = "loss"
    assert tensor_names(am.draw_graph(loss).source)[-1] == "loss"


def test_op_nodes_show_the_op_table_expr_in_operand_order() -> None:
    *_, loss = mse()
    src = am.draw_graph(loss).source
    assert "X · w" in src
    assert "t1 − y" in src  # sub's left operand is the matmul output, named t1


def test_tensors_show_shape_dtype_and_value() -> None:
    X, y, w, loss = mse()
    src = am.draw_graph(loss).source
    assert "(3,1) float64" in node_of(src, "w") and "[0, 0, 0]" in node_of(src, "w")
    assert viz.summarize(X.data) in node_of(src, "X")
    assert "min " in viz.summarize(X.data)
    assert viz.summarize(loss.data) in node_of(src, "L")


def test_parameters_constants_and_root_are_drawn_differently_with_a_legend() -> None:
    *_, loss = mse()
    src = am.draw_graph(loss).source
    w, X, y, root = (node_of(src, n) for n in ("w", "X", "y", "L"))
    assert 'fillcolor="#d9f2d0"' in w and "dashed" not in w
    assert "dashed" in X and "dashed" in y
    assert 'penwidth="2"' in root and "bold" in root
    assert len({w, X, root}) == 3
    for kind in ("parameter", "constant", "intermediate", "root", "op"):
        assert f"legend_{kind} [" in src
    assert "cluster_legend" in src


def test_legend_can_be_left_out_and_lies_across_a_top_to_bottom_graph() -> None:
    *_, loss = mse()
    assert "legend" not in am.draw_graph(loss, legend=False).source
    across = am.draw_graph(loss, rankdir="TB").source
    # Chained, its boxes would stand in a column as tall as the graph; unchained, in a row.
    assert "rankdir=TB" in across and "legend_root [" in across and "invis" not in across
    assert 'legend_parameter -> legend_constant [style="invis"]' in am.draw_graph(loss).source


def test_grads_appear_only_after_backward() -> None:
    *_, w, loss = mse()
    before = am.draw_graph(loss).source
    assert "grad" not in node_of(before, "w")
    assert "grad not kept" not in before
    loss.backward()
    after = am.draw_graph(loss).source
    assert f"grad {viz.summarize(w.grad)}" in node_of(after, "w")
    assert "grad" not in node_of(after, "X")  # constants have no gradient
    assert "grad not kept" in node_of(after, "t2")  # intermediates are marked, not hidden
    hidden = am.draw_graph(loss, show_grad=False).source
    assert "grad" not in "".join(nodes(hidden).values())


def test_a_retained_intermediate_gradient_is_drawn_like_a_leafs() -> None:
    # Set by hand, as backward does after t.retain_grad(): the drawing reads only the node.
    X = am.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), name="X")
    w = am.tensor(np.array([[1.0], [-1.0]]), requires_grad=True, name="w")
    score = X @ w
    score.name = "score"
    shifted = score - 1.0
    shifted.name = "shifted"
    loss = (shifted ** 2).mean()
    loss.backward()
    assert score._node is not None
    kept = 2 * (score.data - 1.0) / 2  # ∂loss/∂score, retained
    score._node.retain = True
    score._node.grad = kept
    src = am.draw_graph(loss).source
    shown = f'<font color="#b03a2e">grad {viz.summarize(kept)}</font>'
    assert shown in node_of(src, "score")
    assert shown.replace(viz.summarize(kept), viz.summarize(w.grad)) in node_of(src, "w")
    assert "grad not kept" not in node_of(src, "score")
    assert "grad not kept" in node_of(src, "shifted")  # not retained: marked as before
    assert "grad" not in node_of(am.draw_graph(loss, show_grad=False).source, "score")


def test_retain_grad_end_to_end_shows_the_gradient() -> None:
    X = am.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), name="X")
    w = am.tensor(np.array([[1.0], [-1.0]]), requires_grad=True, name="w")
    score = X @ w
    score.name = "score"
    score.retain_grad()
    loss = ((score - 1.0) ** 2).mean()
    assert "grad" not in node_of(am.draw_graph(loss).source, "score")  # before backward
    loss.backward()
    assert score.grad is not None
    np.testing.assert_allclose(score.grad, [[-2.0], [-2.0]])  # (score - 1) = -1, N = 2
    src = am.draw_graph(loss).source
    assert '<font color="#b03a2e">grad [-2, -2]</font>' in node_of(src, "score")
    assert "grad not kept" in nodes(src)["t4"]  # score − 1: not retained


def test_values_that_backward_freed_are_marked() -> None:
    X, y, w, loss = mse()
    before = am.draw_graph(loss).source
    diff = X.data @ w.data - y.data
    assert viz.summarize(diff) in node_of(before, "t2")  # still saved by pow for its VJP
    assert "value not kept" in node_of(before, "t3")  # nothing holds pow's output
    loss.backward()
    after = am.draw_graph(loss).source
    assert "value freed" in node_of(after, "t2")
    hidden = am.draw_graph(loss, show_values=False).source
    assert "value" not in hidden and "[0, 0, 0]" not in hidden


def test_a_tensor_the_user_holds_keeps_showing_its_value() -> None:
    X = am.tensor(np.ones((4, 2)), name="X")
    w = am.tensor(np.full((2, 1), 0.5), requires_grad=True, name="w")
    score = X @ w
    score.name = "score"
    loss = (score ** 2).sum()
    loss.backward()
    assert "[1, 1, 1, 1]" in node_of(am.draw_graph(loss).source, "score")


def test_a_sub_graph_is_drawn_from_an_intermediate_root() -> None:
    X = am.tensor(np.ones((4, 2)), name="X")
    w = am.tensor(np.ones((2, 1)), requires_grad=True, name="w")
    score = X @ w
    ((score - 1.0) ** 2).mean()
    src = am.draw_graph(score).source
    assert len(nodes(src)) == 4 and "pow" not in src
    assert 'penwidth="2"' in nodes(src)["t2"]


def test_scalar_constants_made_inside_an_op_are_shown() -> None:
    x = am.tensor(2.0, requires_grad=True, name="x")
    src = am.draw_graph(x * 3.0).source
    assert "dashed" in node_of(src, "t1") and "<br/>3>" in node_of(src, "t1")


# ---- broadcasting --------------------------------------------------------------------------


def test_broadcast_reduction_is_labelled_on_the_bias_edge() -> None:
    rng = np.random.default_rng(1)
    X = am.tensor(rng.standard_normal((100, 3)), name="X")
    W = am.tensor(rng.standard_normal((3, 1)), requires_grad=True, name="W")
    b = am.tensor(np.zeros(1), requires_grad=True, name="b")
    src = am.draw_graph(X @ W + b).source
    labelled = [e for e in edges(src) if "sum over" in e[2]]
    assert len(labelled) == 1
    tail, head, attrs = labelled[0]
    assert "<b>b</b>" in nodes(src)[tail] and head.startswith("op")
    assert 'label="sum over axis 0: (100,1) → (1,)"' in attrs


def test_no_reduction_label_where_the_vjp_already_has_the_input_shape() -> None:
    # An outer product's operands broadcast to its output, yet its VJPs reduce nothing.
    x = am.tensor(np.ones((3, 1)), requires_grad=True, name="x")
    assert "sum over" not in am.draw_graph(x @ x.T).source
    # A batched matmul does sum the shared matrix's gradient over the batch axis.
    A = am.tensor(np.ones((2, 5, 3)), name="A")
    B = am.tensor(np.ones((3, 4)), requires_grad=True, name="B")
    assert "sum over axis 0: (2,3,4) → (3,4)" in am.draw_graph(A @ B).source


def test_constants_get_no_reduction_label() -> None:
    x = am.tensor(np.ones((4, 3)), requires_grad=True, name="x")
    c = am.tensor(np.ones(3), name="c")
    assert "sum over" not in am.draw_graph(x * c).source


# ---- the backward view ---------------------------------------------------------------------


def test_backward_view_labels_edges_with_the_ops_vjp_in_tensor_names() -> None:
    *_, loss = mse()
    loss.backward()
    src = am.draw_graph(loss, backward=True).source
    by_pair = {(a, b): attrs for a, b, attrs in edges(src)}
    into_w = label_of(by_pair[("op2", "t1")])  # matmul → w
    assert into_w.replace(" ", "") == "Xᵀ·ḡ"
    into_diff = label_of(by_pair[("op5", "t4")])  # pow 2 → X·w − y: 2 · ḡ ⊙ t2
    assert "2" in into_diff and "t2" in into_diff and "ḡ" in into_diff
    assert "N" in label_of(by_pair[("op6", "t5")])  # the 1/N of the mean
    assert 'label="ḡ"' in by_pair[("t6", "op6")]  # ∂L/∂out flows into the op
    assert "label" not in by_pair[("op2", "t0")] and "dotted" in by_pair[("op2", "t0")]
    assert ("t0", "op2") not in by_pair  # forward edges are not drawn
    assert "legend_grad" in src


def test_backward_view_reduction_and_every_placeholder_filled() -> None:
    rng = np.random.default_rng(2)
    X = am.tensor(rng.standard_normal((5, 3)), name="X")
    W = am.tensor(rng.standard_normal((3, 2)), requires_grad=True, name="W")
    b = am.tensor(np.zeros(2), requires_grad=True, name="b")
    h = am.concatenate([(X @ W + b).exp(), am.maximum(W.sum(axis=0, keepdims=True), 0.0)])
    loss = am.where(h.data > 1, h, -h)[1:].sum()
    src = am.draw_graph(loss, backward=True).source
    assert "{" not in "".join(attrs for *_, attrs in edges(src))
    b_id = next(i for i, attrs in nodes(src).items() if "<b>b</b>" in attrs)
    into_b = [attrs for _, head, attrs in edges(src) if head == b_id]
    assert len(into_b) == 1 and "ḡ\\nsum over axis 0: (5,2) → (2,)" in into_b[0]


# ---- determinism and goldens ---------------------------------------------------------------


def small_mse() -> am.Tensor:
    X = am.tensor(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), name="X")
    y = am.tensor(np.array([[1.0], [0.0], [2.0]]), name="y")
    w = am.tensor(np.array([[0.5], [-0.25]]), requires_grad=True, name="w")
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()
    return loss


def small_bias() -> am.Tensor:
    X = am.tensor(np.arange(6.0).reshape(3, 2), name="X")
    W = am.tensor(np.array([[1.0], [-1.0]]), requires_grad=True, name="W")
    b = am.tensor(np.array([0.5]), requires_grad=True, name="b")
    loss = (X @ W + b).tanh().sum()
    loss.backward()
    return loss


@pytest.mark.parametrize(("build", "backward", "golden"), [
    (small_mse, False, "mse_forward.dot"),
    (small_bias, True, "bias_backward.dot"),
])
def test_golden_dot(build: object, backward: bool, golden: str) -> None:
    src = am.draw_graph(build(), backward=backward).source  # type: ignore[operator]
    path = GOLDEN / golden
    if os.environ.get("AUTOGRAD_MINI_UPDATE_GOLDEN"):
        path.write_text(src, encoding="utf-8")
    assert src == path.read_text(encoding="utf-8")


def test_same_graph_gives_the_same_bytes_in_another_process() -> None:
    code = "from tests.test_viz import small_bias; import autograd_mini as am; " \
           "import sys; sys.stdout.buffer.write(am.draw_graph(small_bias()).source.encode())"
    root = Path(__file__).parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         check=True).stdout
    assert out == am.draw_graph(small_bias()).source.encode()
    assert am.draw_graph(small_bias()).source == am.draw_graph(small_bias()).source


# ---- size limits -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain() -> am.Tensor:
    """100,000 ops in a row: far deeper than any recursion limit."""
    x = am.tensor(1.0, requires_grad=True, name="x")
    for _ in range(100_000):
        x = -x
    return x


def test_a_huge_graph_fails_fast_with_advice(chain: am.Tensor) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match="max_nodes=500") as info:
        am.draw_graph(chain)
    assert time.perf_counter() - start < 5
    msg = str(info.value)
    assert "200,001 nodes" in msg and "max_nodes=None" in msg and "sub-graph" in msg


def test_a_huge_graph_draws_without_recursion_when_allowed(chain: am.Tensor) -> None:
    src = am.draw_graph(chain, max_nodes=None).source
    assert len(nodes(src)) == 200_001
    assert len(edges(src)) == 200_000
    assert "\tt100000 [" in src and "<b>x</b>" in src


def test_max_nodes_counts_tensors_and_ops() -> None:
    *_, loss = mse()
    am.draw_graph(loss, max_nodes=11)
    with pytest.raises(ValueError, match="max_nodes=11"):
        am.draw_graph(loss, max_nodes=10)


def test_draw_graph_rejects_what_is_not_a_tensor() -> None:
    with pytest.raises(TypeError, match="expected a Tensor"):
        am.draw_graph(np.ones(3))  # type: ignore[arg-type]


# ---- rendering -----------------------------------------------------------------------------

RENDERERS = ["graphviz-pure"] + (["dot"] if shutil.which("dot") else [])


def no_leftovers(folder: Path) -> bool:
    return not list(folder.glob(".*.part"))


def test_graphviz_pure_is_installed_for_the_tests() -> None:
    assert viz.find_renderer("graphviz-pure") is not None


@pytest.mark.parametrize("renderer", RENDERERS)
def test_render_svg_parses_and_names_the_tensors(tmp_path: Path, renderer: str) -> None:
    *_, loss = mse()
    loss.backward()
    out = am.render_graph(loss, str(tmp_path / "mse.svg"), renderer=renderer)
    assert out == tmp_path / "mse.svg"
    svg = ET.parse(out).getroot()
    assert svg.tag.endswith("svg")
    texts = {t.text for t in svg.iter() if t.tag.endswith("text")}
    assert {"X", "w", "y", "matmul"} <= texts
    assert (tmp_path / "mse.dot").read_text(encoding="utf-8") == am.draw_graph(loss).source
    assert no_leftovers(tmp_path)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_render_png_backward_view(tmp_path: Path, renderer: str) -> None:
    *_, loss = mse()
    loss.backward()
    out = am.render_graph(loss, tmp_path / "mse.png", backward=True, renderer=renderer)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Xᵀ" in (tmp_path / "mse.dot").read_text(encoding="utf-8")
    assert no_leftovers(tmp_path)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_pdf_renders_with_dot_and_fails_cleanly_with_graphviz_pure(tmp_path: Path,
                                                                   renderer: str) -> None:
    *_, loss = mse()
    target = tmp_path / "mse.pdf"
    target.write_bytes(b"old")
    if renderer == "dot":
        assert am.render_graph(loss, target, renderer="dot").read_bytes()[:5] == b"%PDF-"
        return
    with pytest.raises(viz.RenderError) as info:
        am.render_graph(loss, target, renderer=renderer)  # graphviz-pure writes no PDF
    assert "pdf" in info.value.stderr.lower() and info.value.stderr in str(info.value)
    assert info.value.returncode != 0 and "SVG and PNG only" in str(info.value)
    assert target.read_bytes() == b"old"  # the failed render replaced nothing
    assert (tmp_path / "mse.dot").exists() and no_leftovers(tmp_path)


def test_dot_suffix_writes_only_the_source_and_unknown_suffixes_are_refused(
        tmp_path: Path) -> None:
    *_, loss = mse()
    out = am.render_graph(loss, tmp_path / "g.gv", renderer="no-such-renderer")
    assert out.read_text(encoding="utf-8") == am.draw_graph(loss).source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.gv"]
    with pytest.raises(ValueError, match=r"\.svg"):
        am.render_graph(loss, tmp_path / "g.jpg")


def test_renderer_search_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pure = viz.find_renderer("graphviz-pure")
    assert pure is not None
    monkeypatch.delenv(viz.RENDERER_ENV, raising=False)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake_dot = fake_bin / "dot"
    fake_dot.write_text("#!/bin/sh\nexit 1\n")
    fake_dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))
    assert viz.find_renderer() == str(fake_dot)  # dot on PATH comes first
    fake_dot.unlink()
    monkeypatch.setattr(sys, "executable", str(Path(pure).parent / "python"))
    assert viz.find_renderer() == pure  # then graphviz-pure beside the interpreter
    monkeypatch.setenv(viz.RENDERER_ENV, "graphviz-pure")
    assert viz.find_renderer() == pure
    monkeypatch.setenv(viz.RENDERER_ENV, "no-such-renderer")
    assert viz.find_renderer() is None
    with pytest.raises(am.RendererNotFoundError, match="'no-such-renderer' was not found"):
        am.render_graph(am.tensor(1.0), tmp_path / "g.svg")


def test_no_renderer_error_in_a_clean_process(tmp_path: Path) -> None:
    # PATH holds neither renderer, and the interpreter is made to look as if it lived in an
    # empty folder, so graphviz-pure beside it is not found either.
    empty = tmp_path / "empty"
    empty.mkdir()
    code = textwrap.dedent(f"""
        import sys
        sys.executable = {str(empty / "python")!r}
        import numpy as np
        import autograd_mini as am
        from autograd_mini import viz
        assert viz.find_renderer() is None
        w = am.tensor(np.ones(2), requires_grad=True, name="w")
        try:
            am.render_graph((w * w).sum(), {str(tmp_path / "g.svg")!r})
        except am.RendererNotFoundError as e:
            assert isinstance(e, RuntimeError)
            print(e)
        """)
    env = {k: v for k, v in os.environ.items() if k != viz.RENDERER_ENV}
    env["PATH"] = str(empty)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    msg = done.stdout
    dot_file, svg_file = tmp_path / "g.dot", tmp_path / "g.svg"
    assert f"The DOT source was written to {dot_file}" in msg
    assert "pip install 'autograd-mini[viz]'" in msg
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert f"dot -Tsvg {dot_file} -o {svg_file}" in msg
    assert "<b>w</b>" in dot_file.read_text(encoding="utf-8")
    assert not svg_file.exists() and no_leftovers(tmp_path)


def test_jupyter_display_works_with_graphviz_pure_alone(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    # No `dot` on PATH: the plain Digraph could not display; ours finds graphviz-pure
    # beside the interpreter.
    pure = viz.find_renderer("graphviz-pure")
    assert pure is not None
    monkeypatch.setattr(sys, "executable", str(Path(pure).parent / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(viz.RENDERER_ENV, raising=False)
    *_, loss = mse()
    g = am.draw_graph(loss)
    svg = ET.fromstring(g._repr_mimebundle_()["image/svg+xml"])
    assert {"X", "w", "y"} <= {t.text for t in svg.iter() if t.tag.endswith("text")}
    assert g._repr_mimebundle_(include=["image/png"])["image/png"][:4] == b"\x89PNG"


# ---- the Digraph's own render, pipe and view with graphviz-pure alone ----------------------

PREAMBLE = """
import shutil, sys
from pathlib import Path
import numpy as np
import autograd_mini as am
from autograd_mini import viz
assert shutil.which("dot") is None, "dot must not be found in this test"
assert Path(viz.find_renderer()).name == "graphviz-pure"
rng = np.random.default_rng(0)
X = am.tensor(rng.standard_normal((10, 3)), name="X")
y = am.tensor(rng.standard_normal((10, 1)), name="y")
w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
loss = ((X @ w - y) ** 2).mean()
loss.backward()
g = am.draw_graph(loss)
"""


def with_graphviz_pure_alone(tmp_path: Path, code: str) -> str:
    """Run `code` after PREAMBLE in a fresh Python whose PATH holds graphviz-pure and nothing
    else (no `dot`, no system tools); the interpreter seems to live there too. Its stdout."""
    pure = viz.find_renderer("graphviz-pure")
    assert pure is not None
    only = tmp_path / "only-graphviz-pure"
    only.mkdir()
    (only / "graphviz-pure").symlink_to(pure)
    script = f"import sys\nsys.executable = {str(only / 'python')!r}\n" + PREAMBLE + \
        textwrap.dedent(code)
    env = {k: v for k, v in os.environ.items() if k != viz.RENDERER_ENV}
    env["PATH"] = str(only)
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def svg_texts(path: Path) -> set[str | None]:
    svg = ET.parse(path).getroot()
    assert svg.tag.endswith("svg")
    return {t.text for t in svg.iter() if t.tag.endswith("text")}


def test_digraph_render_writes_svg_and_png_with_graphviz_pure_alone(tmp_path: Path) -> None:
    out = with_graphviz_pure_alone(tmp_path, f"""
        print(g.render(directory={str(tmp_path / "out")!r}))  # SVG by default
        print(g.render(outfile={str(tmp_path / "mse.png")!r}))
        print(g.render("named.gv", directory={str(tmp_path)!r}, format="png"))
        print(g.render(format="png", renderer="cairo", cleanup=True))  # same name, same folder
        """)
    default_svg, png, named_png, cairo_png = out.split()
    assert Path(default_svg) == tmp_path / "out" / "autograd_graph.gv.svg"
    assert {"X", "w", "y", "matmul"} <= svg_texts(Path(default_svg))
    assert (tmp_path / "out" / "autograd_graph.gv").read_text(encoding="utf-8").startswith(
        "digraph autograd_graph {")
    assert Path(png) == tmp_path / "mse.png"
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "mse.gv").exists()  # graphviz's name for the source beside outfile
    assert Path(named_png) == tmp_path / "named.gv.png"
    assert Path(named_png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "named.gv").exists()  # cleanup=True removed the source
    assert Path(cairo_png) == tmp_path / "named.gv.cairo.png"  # graphviz's naming
    assert Path(cairo_png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert no_leftovers(tmp_path) and no_leftovers(tmp_path / "out")


def test_digraph_pipe_returns_bytes_or_text_with_graphviz_pure_alone(tmp_path: Path) -> None:
    with_graphviz_pure_alone(tmp_path, """
        import xml.etree.ElementTree as ET
        data = g.pipe(format="svg")
        assert isinstance(data, bytes), type(data)
        text = g.pipe(format="svg", encoding="utf-8")
        assert isinstance(text, str), type(text)
        assert text == data.decode("utf-8")
        texts = {t.text for t in ET.fromstring(data).iter() if t.tag.endswith("text")}
        assert {"X", "w", "y"} <= texts, texts
        assert g.pipe(format="png")[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        assert g.pipe("svg", encoding="latin-1").startswith("<?xml")
        """)


def test_digraph_view_renders_and_opens_with_graphviz_pure_alone(tmp_path: Path) -> None:
    out = with_graphviz_pure_alone(tmp_path, f"""
        from graphviz.backend import viewing
        opened = []
        def opener(path, *, quiet):
            opened.append((str(path), quiet))
        setattr(viz.GraphDrawing, f"_view_{{viewing.PLATFORM}}", staticmethod(opener))
        path = g.view(directory={str(tmp_path)!r})
        assert opened == [(path, False)], (opened, path)
        g.render(directory={str(tmp_path)!r}, format="png", view=True, quiet_view=True)
        assert opened[1][0].endswith(".png") and opened[1][1] is True, opened
        print(path)
        """)
    path = Path(out.strip())
    assert path == tmp_path / "autograd_graph.gv.svg"
    assert {"X", "w", "y"} <= svg_texts(path)


def test_digraph_pdf_with_graphviz_pure_gives_the_render_graph_error(tmp_path: Path) -> None:
    out = with_graphviz_pure_alone(tmp_path, f"""
        target = Path({str(tmp_path / "g.pdf")!r})
        messages = []
        for attempt in (lambda: g.render(outfile=target), lambda: g.pipe(format="pdf"),
                        lambda: am.render_graph(loss, target)):
            try:
                attempt()
            except viz.RenderError as e:
                assert e.returncode != 0 and "pdf" in e.stderr.lower(), (e.returncode, e)
                messages.append(str(e))
            else:
                raise AssertionError("no RenderError")
        print("\\n---\\n".join(messages))
        """)
    from_render, from_pipe, from_render_graph = out.strip().split("\n---\n")
    for msg in (from_render, from_pipe, from_render_graph):
        assert "could not render" in msg and "as pdf" in msg
        assert "graphviz-pure writes SVG and PNG only" in msg
        assert "apt-get install graphviz" in msg
    assert from_render == from_render_graph.replace("g.dot", "g.gv")
    assert not (tmp_path / "g.pdf").exists() and no_leftovers(tmp_path)


def test_digraph_methods_use_the_renderer_search(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    # $AUTOGRAD_MINI_RENDERER names the program; graphviz's engine=, renderer= and formatter=
    # reach it as on dot's command line.
    log = tmp_path / "args.txt"
    fake = tmp_path / "fake-dot"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}\nprintf '<svg/>'\n")
    fake.chmod(0o755)
    monkeypatch.setenv(viz.RENDERER_ENV, str(fake))
    g = am.draw_graph(mse()[-1])
    assert g.pipe() == b"<svg/>"
    assert log.read_text().split() == ["-Kdot", "-Tsvg"]
    assert g.pipe(format="png", renderer="cairo", engine="neato", encoding="ascii") == "<svg/>"
    assert log.read_text().split() == ["-Kneato", "-Tpng:cairo"]
    monkeypatch.setenv(viz.RENDERER_ENV, "no-such-renderer")
    with pytest.raises(am.RendererNotFoundError, match="'no-such-renderer' was not found"):
        g.pipe()
    with pytest.raises(am.RendererNotFoundError, match="autograd-mini\\[viz\\]"):
        g.render(directory=tmp_path)
