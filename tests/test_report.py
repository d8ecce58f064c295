"""The demo's report reads as a lesson: each example's question in the asker's words and linked,
its answer in prose, the derivation's result, a real table, the code backpropagation wrote
beside the hand-written line, and graphs whose text is legible at the size they are shown."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pytest

from autograd_mini import cli, report
from autograd_mini import compare as cmp

NAMES = ("mse_gradient", "bias_term")  # two quick ones; the demo test runs all seven
MIN_TEXT_PX = 11


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[report.Run], str, Path]:
    """The report of two examples: the runs, the page's HTML, its folder."""
    out = tmp_path_factory.mktemp("report")
    runs = [cli.run_example(name, out / name) for name in NAMES]
    page = report.write_report(runs, out, 1.0)
    return runs, page.read_text(encoding="utf-8"), out


def section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start:page.index("</section>", start)]


def outside_details(text: str) -> str:
    """The text a reader sees without unfolding anything."""
    return re.sub(r"<details>.*?</details>", "", text, flags=re.S)


@pytest.mark.parametrize("name", NAMES)
def test_each_section_asks_the_question_in_the_askers_words_and_links_it(
        built: tuple[list[report.Run], str, Path], name: str) -> None:
    _, page, _ = built
    text = section(page, name)
    lesson, question = cmp.LESSONS[name], cmp.QUESTIONS[name]
    assert f"<h2>{html.escape(lesson.heading)}</h2>" in text
    assert question.url is not None and f'<a href="{question.url}">' in text
    assert html.escape(question.title) in text
    asks = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(lesson.asks, quote=False))
    assert asks in text
    assert f'<a href="#{name}">{html.escape(lesson.heading)}</a>' in page  # the contents


@pytest.mark.parametrize("name", NAMES)
def test_each_section_answers_in_prose_with_a_real_table_not_a_console_dump(
        built: tuple[list[report.Run], str, Path], name: str) -> None:
    runs, page, _ = built
    result = next(r.result for r in runs if r.name == name)
    assert result is not None
    text = section(page, name)
    seen = outside_details(text)
    assert f'<p class="answer">{html.escape(result.answer_text)}</p>' in seen
    assert re.search(r'<pre class="derivation">[^<]*∂\w+/∂\w+ = ', seen)
    table = re.search(r'<table class="rows">(.*?)</table>', seen, re.S)
    assert table is not None
    assert table.group(1).count("<tr>") == len(result.rows) + 1  # a header, then each row
    for row in result.rows:
        assert f"<td>{html.escape(row.name)}</td>" in table.group(1)
    # What the example printed is there for whoever wants it, but folded away.
    assert "key numbers" not in seen and "max abs difference" not in seen
    assert html.escape(run_output(runs, name)) in text


def run_output(runs: list[report.Run], name: str) -> str:
    return next(r.output for r in runs if r.name == name)


@pytest.mark.parametrize("name", NAMES)
def test_each_section_shows_the_code_backprop_wrote_beside_the_hand_line(
        built: tuple[list[report.Run], str, Path], name: str) -> None:
    runs, page, _ = built
    result = next(r.result for r in runs if r.name == name)
    assert result is not None and result.written is not None
    seen = outside_details(section(page, name))
    assert f"<code>{html.escape(result.written.code.rstrip())}</code>" in seen
    assert f"<code>{html.escape(result.written.hand)}</code>" in seen
    assert "def " in result.written.code and "g_" in result.written.code


def svg_images(text: str) -> list[tuple[str, str]]:
    """(img tag, decoded SVG) for each embedded SVG picture."""
    found = re.findall(r'(<img [^>]*src="data:image/svg\+xml;base64,([^"]+)">)', text)
    return [(tag, base64.b64decode(data).decode("utf-8")) for tag, data in found]


def shown_text_px(tag: str, svg: str) -> float:
    """The smallest text in an SVG, in CSS pixels, at the width the page shows it."""
    shown = re.search(r'\bwidth="(\d+)"', tag)
    assert shown is not None, f"the page gives the graph no size: {tag[:120]}"
    view = re.search(r'viewBox="[\d.-]+ [\d.-]+ ([\d.]+) [\d.]+"', svg)
    assert view is not None
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
    assert sizes
    return min(sizes) * int(shown.group(1)) / float(view.group(1))


def test_every_graph_is_shown_with_its_text_at_least_11px(
        built: tuple[list[report.Run], str, Path]) -> None:
    _, page, _ = built
    graphs = svg_images(page)
    assert len(graphs) == 2 * len(NAMES)
    for tag, svg in graphs:
        assert "max-width: none" in tag  # never shrunk into the column
        assert shown_text_px(tag, svg) >= MIN_TEXT_PX, tag[:200]


def test_graphs_are_drawn_top_to_bottom_and_narrow_enough_for_the_column(
        built: tuple[list[report.Run], str, Path]) -> None:
    _, _, out = built
    for name in NAMES:
        for view in ("forward", "backward"):
            dot = (out / name / f"graph_{view}.dot").read_text(encoding="utf-8")
            assert "rankdir=TB" in dot
            svg = (out / name / f"graph_{view}.svg").read_text(encoding="utf-8")
            width = re.search(r'<svg width="([\d.]+)pt"', svg)
            assert width is not None and float(width.group(1)) * 4 / 3 <= 1100


def test_the_tutorial_is_linked_only_when_its_page_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[report.Run] = []
    site = tmp_path / "site"
    monkeypatch.setattr(report, "SITE", site)
    out = tmp_path / "out"
    page = report.write_report(runs, out).read_text(encoding="utf-8")
    assert "tutorial" not in page
    site.mkdir()
    (site / "why-xt.html").write_text("<h1>tutorial</h1>", encoding="utf-8")
    page = report.write_report(runs, out).read_text(encoding="utf-8")
    href = re.search(r'<a href="([^"]+)">tutorial</a>', page)
    assert href is not None and (out / href.group(1)).resolve() == site / "why-xt.html"


def test_key_lines_keep_the_result_and_drop_the_steps() -> None:
    text = ("Gradient of L = mean(x²) with respect to w\n\nstep 1  mean: L = mean(x²)\n"
            "    rule   mean(x) = Σ(x) / N\n∂L/∂w = 2/N · x\n  where N = 3")
    assert report.key_lines(text) == ("Gradient of L = mean(x²) with respect to w\n\n"
                                      "∂L/∂w = 2/N · x\n  where N = 3")


def test_a_failed_example_says_so_in_its_section(tmp_path: Path) -> None:
    run = report.Run("mse_gradient", None, "partial output", "Traceback ...\nValueError: boom")
    page = report.write_report([run], tmp_path).read_text(encoding="utf-8")
    text = section(page, "mse_gradient")
    assert "stopped with an error" in text and "ValueError: boom" in text
    assert f"<h2>{html.escape(cmp.LESSONS['mse_gradient'].heading)}</h2>" in text
    assert 'class="fail">FAIL' in page
