"""The report: every section, figure and claim, failing claims shown, HTML self-contained; stage end to end."""

import base64
import re

import pytest

import synthetic_results as synth
from nnrepro import figures, report


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The synthetic tree after the figures and report stages ran through their entry points."""
    from conftest import run_stage

    tree = synth.build(tmp_path_factory.mktemp("report"))
    for name in ("figures", "report"):
        result = run_stage(f"{name}.py", synth.stage_args(name), tree, synth.PARAMS)
        assert result.returncode == 0, result.stderr
    return tree


def test_markdown_has_every_section_figure_and_claim(built):
    text = (built / "reports/report.md").read_text()
    for number, title, _, _ in report.SECTIONS:
        assert f"{number} {title}" in text
    for heading in ("2.2 Results", "## Claims", "## Provenance", "Misclassified test images of"):
        assert heading in text
    for name in figures.CAPTIONS:
        assert f"](../plots/figures/{name}.png)" in text
    assert "| finetune | best | 0.001 | 0.900 | 0.900 |" in text  # the CNN table
    assert "test/0_real/00000.png (real, p=0.90)" in text  # misclassified file names
    assert re.search(r"\d of 10 claims hold", text)


def test_failing_claim_is_reported_not_hidden(built):
    text = (built / "reports/report.md").read_text()
    # the synthetic curves are monotone, so the BatchNorm steadiness claim cannot hold
    assert "BatchNorm makes the validation-loss curves steadier" in text
    assert re.search(r"\| BatchNorm makes [^|]*\| does not hold \|", text)
    assert "DOES NOT HOLD" in text


def test_html_embeds_every_image_and_loads_nothing(built):
    page = (built / "reports/report.html").read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == len(figures.CAPTIONS) + 2  # + the two misclassified grids
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert '<span class="fails">does not hold</span>' in page


def test_provenance_lists_source_params_device_and_versions(built):
    text = (built / "reports/report.md").read_text()
    provenance = text[text.index("## Provenance"):]
    for needle in ("embedded source", "device=cpu", "torch 2", "matplotlib ", "figures:\n  dpi: 40"):
        assert needle in provenance


def test_report_is_identical_on_rerun(built, stage):
    first = (built / "reports/report.html").read_bytes()
    assert stage("report.py", synth.stage_args("report"), built, synth.PARAMS).returncode == 0
    assert (built / "reports/report.html").read_bytes() == first


def test_to_markdown_and_html_render_each_block(tmp_path):
    image = tmp_path / "x.png"
    figures.save(figures.Figure(figsize=(1, 1)), image)
    blocks = [("h", 2, "Title"), ("p", "a < b"), ("list", ["one"]), ("code", "k: 1"), ("img", image, "cap"),
              ("table", ["a", "b"], [[1, "holds"]])]
    md = report.to_markdown(blocks, tmp_path)
    assert "## Title" in md and "- one" in md and "![cap](x.png)" in md and "| 1 | holds |" in md
    page = report.to_html(blocks, "t")
    assert "a &lt; b" in page and '<span class="holds">holds</span>' in page and "data:image/png;base64," in page


def test_report_stage_without_figures_stops_with_one_line(built, stage, tmp_path):
    args = [a if a != "plots/figures" else str(tmp_path / "none") for a in synth.stage_args("report")]
    result = stage("report.py", args, built, synth.PARAMS)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "run `dvc repro figures`" in lines[0]
