"""The report stage end to end on a synthetic tree (after the claims and figures stages): every section, figure and
claim with its verdict, the course's numbers beside ours, a self-contained HTML, provenance, reruns byte-identical,
no wall-clock number; and the Markdown/HTML renderers block by block."""

import base64
import json
import re
from importlib import metadata

import pytest
import synthetic_results as synth
import yaml

from nnrepro.report import figures, render
from nnrepro.report.claims import CLAIMS as ALL_CLAIMS

VERDICT_CLASSES = {"holds": "holds", "does not hold": "fails", "cannot be judged": "unjudged"}


@pytest.fixture(scope="module")
def built(synthetic_tree):
    """The synthetic tree (claims and figures stages already run: conftest.py) after the report stage ran."""
    from conftest import run_stage

    result = run_stage("report.py", synth.stage_args("report"), synthetic_tree, None)
    assert result.returncode == 0, result.stderr
    return synthetic_tree


@pytest.fixture(scope="module")
def markdown(built) -> str:
    return (built / "reports/report.md").read_text()


@pytest.fixture(scope="module")
def page(built) -> str:
    return (built / "reports/report.html").read_text()


@pytest.fixture(scope="module")
def claims(built) -> dict:
    return json.loads((built / "metrics/claims.json").read_text())


def heading(number: str, title: str) -> str:
    return f"{'#' * min(4, number.count('.') + 2)} {number} {title}"


def section(markdown: str, number: str) -> str:
    """The text of a section, from its heading to the next heading of any level."""
    title = next(t for n, t, _ in render.SECTIONS if n == number)
    start = markdown.index(heading(number, title) + "\n")
    body = start + len(heading(number, title))
    following = re.search(r"^#+ ", markdown[body:], re.MULTILINE)
    return markdown[start : body + following.start()] if following else markdown[start:]


def test_synthetic_params_have_every_key_of_params_yaml(repo_params):
    """The report prints params.yaml whole: the tree's params must have the repository's shape."""
    assert set(synth.PARAMS) == set(repo_params)
    for key, value in repo_params.items():
        if isinstance(value, dict):
            assert set(synth.PARAMS[key]) == set(value), key


def test_every_section_present_in_order(markdown):
    positions = [markdown.index(heading(number, title) + "\n") for number, title, _ in render.SECTIONS]
    assert positions == sorted(positions)
    assert markdown.index("\n## Claims\n") > positions[-1] and markdown.index("\n## Provenance\n") > positions[-1]


def test_every_figure_linked_in_its_section(markdown):
    placed = [name for _, _, names in render.SECTIONS for name in names] + ["fig18_verdicts"]  # under Claims
    assert sorted(placed) == sorted(figures.CAPTIONS)  # every figure drawn is in the report, once
    claims_part = markdown[markdown.index("\n## Claims\n") :]
    assert f"![{figures.CAPTIONS['fig18_verdicts']}](../plots/figures/fig18_verdicts.png)" in claims_part
    for number, _, names in render.SECTIONS:
        text = section(markdown, number)
        for name in names:
            assert f"![{figures.CAPTIONS[name]}](../plots/figures/{name}.png)" in text


def shown(claim: dict) -> str:
    why = claim["note"] or (claim["reason"] if claim["verdict"] == "cannot be judged" else "")
    return f"{claim['verdict']} ({why})" if why else claim["verdict"]


def effect(claim: dict) -> str:
    if claim["effect"] is None:
        return "-"
    if claim["interval"] is None:
        return f"{claim['effect']:.3g} (no noise) vs margin {claim['margin']:.3g}"
    low, high = claim["interval"]
    return f"{claim['effect']:.3g} [{low:.3g}, {high:.3g}] vs margin {claim['margin']:.3g}"


def seeds(claim: dict) -> str:
    return (
        f"{claim['seeds_counted']} counted, {claim['seeds_above']} above the margin" if claim["seeds_counted"] else "-"
    )


def test_every_claim_shown_with_its_verdict_seeds_effect_and_words_in_its_section_and_the_table(markdown, claims):
    assert len(claims) == len(ALL_CLAIMS)
    table = markdown[markdown.index("\n## Claims\n") :]
    for c in claims.values():
        sensitive = "; threshold-sensitive" if c["threshold_sensitive"] else ""
        mde = "-" if c["min_detectable_effect"] is None else f"{c['min_detectable_effect']:.3g}"
        why = render.why_undecided(c)
        assert (
            f"Claim ({shown(c)}{'; ' + why if why else ''}; seeds: {seeds(c)}; effect {effect(c)}; minimum "
            f"detectable effect {mde}{sensitive}): {c['claim']} Course ({c['section']}): “{c['sentence']}”. "
            f"Evidence: {c['evidence']}."
        ) in section(markdown, c["section"])
        flagged = f"yes ({c['sensitive_to']})" if c["threshold_sensitive"] else "no"
        row = [c["claim"], c["section"], f"“{c['sentence']}”", shown(c), seeds(c), effect(c), mde, flagged]
        assert "| " + " | ".join(cell.replace("|", "\\|") for cell in [*row, c["evidence"]]) + " |" in table


def judged_claim(**fields) -> dict:
    base = {"verdict": "cannot be judged", "reason": "within noise", "effect": 0.1, "margin": 0.0}
    return {**base, "min_detectable_effect": 0.5, "undecided": "a true tie", **fields}


def test_a_claim_within_noise_says_whether_it_is_a_tie_or_too_few_seeds():
    assert render.why_undecided(judged_claim()) == "a true tie: 0.1 from the margin, with seeds that decide 0.5"
    few = render.why_undecided(judged_claim(undecided="too few seeds", min_detectable_effect=2.0))
    assert few == "too few seeds: 0.1 from the margin, the minimum detectable effect 2"
    assert render.why_undecided(judged_claim(verdict="holds", reason=None)) == ""
    assert render.why_undecided(judged_claim(reason="missing")) == ""


def test_each_re_derived_threshold_gives_the_verdict_before_and_after():
    claims = {"a": {"claim": "A.", "verdict": "holds", "verdict_with_previous": {"SHARE": "does not hold"}}}
    header, rows = render.previous_table({**claims, "b": {"claim": "B.", "verdict": "holds"}})
    assert rows == [["A.", "SHARE", "does not hold", "holds"]] and len(header) == 4


def test_the_counts_split_the_unjudged_claims_by_reason(markdown, claims, built):
    counts = {v: sum(c["verdict"] == v for c in claims.values()) for v in VERDICT_CLASSES}
    kinds = ("within noise", "collapsed", "missing", "one run")
    reasons = {r: sum(c["reason"] == r for c in claims.values()) for r in kinds}
    assert (
        f"{counts['holds']} hold, {counts['does not hold']} do not hold, {counts['cannot be judged']} cannot be "
        f"judged ({reasons['within noise']} within noise, {reasons['collapsed']} collapsed, {reasons['missing']} "
        f"missing, {reasons['one run']} one run), of {len(claims)}"
    ) in markdown
    headline = json.loads((built / "metrics/headline.json").read_text())
    assert (headline["claims_hold"], headline["claims_fail"], headline["claims_unjudged"]) == tuple(counts.values())
    unjudged = ("unjudged_noise", "unjudged_collapsed", "unjudged_missing", "unjudged_one_run")
    assert tuple(headline[k] for k in unjudged) == tuple(reasons.values())


def planted_claim(**fields) -> dict:
    """A claims.json entry as the claims stage writes it (stages/claims.py record), with these fields changed."""
    entry = {
        "claim": "The largest learning rate is still the worst.",
        "section": "1.1.3",
        "sentence": "so the highest LR is still ineffective",
        "verdict": "holds",
        "reason": None,
        "undecided": None,
        "note": "collapsed: one class predicted",
        "effect": 0.19,
        "noise": 0.02,
        "interval": [0.14, 0.24],
        "margin": 0.0,
        "margin_in_intervals": 3.8,
        "seeds_counted": 8,
        "seeds_above": "8 of 8",
        "min_detectable_effect": 0.07,
        "threshold_sensitive": True,
        "sensitive_to": "PEAK_Z",
        "verdict_with_previous": {},
        "evidence": "last-10-epoch validation loss",
    }
    return {**entry, **fields}


def test_a_claim_paragraph_gives_its_note_seeds_interval_mde_and_sensitivity():
    assert render.claim_paragraph(planted_claim()) == (
        "Claim (holds (collapsed: one class predicted); seeds: 8 counted, 8 of 8 above the margin; effect 0.19 "
        "[0.14, 0.24] vs margin 0; minimum detectable effect 0.07; threshold-sensitive): The largest learning rate "
        "is still the worst. Course (1.1.3): “so the highest LR is still ineffective”. Evidence: last-10-epoch "
        "validation loss."
    )
    tie = planted_claim(verdict="cannot be judged", reason="within noise", undecided="a true tie", note="")
    assert "cannot be judged (within noise); a true tie: 0.19 from the margin" in render.claim_paragraph(tie)
    stopped = planted_claim(verdict="cannot be judged", reason="missing", effect=None, seeds_counted=0, note="")
    stopped |= {"interval": None, "min_detectable_effect": None, "threshold_sensitive": False}
    assert "seeds: -; effect -; minimum detectable effect -): " in render.claim_paragraph(stopped)
    row = render.claim_table({"a": planted_claim()})[1][0]
    assert row[3:8] == [
        "holds (collapsed: one class predicted)",
        "8 counted, 8 of 8 above the margin",
        "0.19 [0.14, 0.24] vs margin 0",
        "0.07",
        "yes (PEAK_Z)",
    ]


def test_html_styles_each_of_the_three_verdicts(page, claims):
    verdicts = [c["verdict"] for c in claims.values()]
    assert set(verdicts) == set(VERDICT_CLASSES)  # the synthetic tree yields all three
    _, rows = render.previous_table(claims)
    assert rows  # the registered previous values re-judge some claims: the table of verdicts before and after
    styled = verdicts + [verdict for row in rows for verdict in row[2:]]
    for verdict, css in VERDICT_CLASSES.items():
        assert f".{css}{{" in page  # the class has a style
        assert page.count(f'<span class="{css}">{verdict}') == styled.count(verdict)  # with its note or reason


def test_course_numbers_beside_ours(markdown):
    course = yaml.safe_load((synth.ROOT / "reference/course_report.yaml").read_text())
    cnn = section(markdown, "2.1")
    assert "| test accuracy | course: lr, test accuracy |" in cnn
    theirs = course["2.1"]["finetune"]["best"]
    assert f"| finetune | best | 0.0001 | 0.870 | 0.868 | {theirs[0]}, {theirs[1]} |" in cnn
    assert "| finetune | best | 0.0001 | 0.870 | 0.868 | 0.0001, 0.8675 |" in cnn
    assert "| finetune | worst | 0.1 | diverged | diverged | 0.1, 0.4975 |" in cnn  # a diverged cell says so
    assert "| xgboost | - | default | 0.740 | 0.730 | default, 0.73 |" in cnn
    assert "about 0.81 test accuracy" in section(markdown, "1.1.4")
    assert str(course["1.1.4"]["batch_1_one_epoch_test_acc"]) == "0.81"
    assert f"epoch {course['1.1.2']['steep_drop_until_epoch']}" in section(markdown, "1.1.2")
    assert f"layers before {course['1.2.5']['nonzero_from_layer']} vanish" in section(markdown, "1.2.5")
    assert "Course: best finetune at lr 0.0001, worst scratch at lr 0.001" in section(markdown, "2.2")


def test_our_numbers_in_their_sections(markdown):
    assert "| 1 | diverged | diverged | yes |" in section(markdown, "1.1.1")
    assert "| 1 | 1 | 1000 | 0.620 | 0.795 |" in section(markdown, "1.1.4")  # first and final test accuracy
    assert "best d6-w32 (train 0.860, validation 0.850, test 0.845)" in section(markdown, "1.2.1")
    assert "| 32 | 0.860 | 0.850 | 0.845 |" in section(markdown, "1.2.4")
    assert "3 seeds per variant, 12 hidden layers" in section(markdown, "1.2.5")


def test_misclassified_images_listed_by_name(markdown, built):
    selection = json.loads((built / "plots/cnn_evaluate/selection.json").read_text())
    text = section(markdown, "2.2")
    for rank, wrong in selection["misclassified"].items():
        assert f"{rank} model {wrong['cell']}: {len(wrong['images'])} misclassified test images:" in text
        for image in wrong["images"]:
            assert f"- {image['name']} ({'fake' if image['label'] else 'real'}, p={image['probability']:.2f})" in text


def test_html_embeds_every_figure_and_loads_nothing(page, built):
    captions = {caption: name for name, caption in figures.CAPTIONS.items()}
    images = re.findall(r'<img src="([^"]*)" alt="([^"]*)">', page)
    assert sorted(captions[alt] for _, alt in images) == sorted(figures.CAPTIONS)
    for src, alt in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == (built / f"plots/figures/{captions[alt]}.png").read_bytes()
    assert page.count("<img") == len(images) and page.count("src=") == len(images)
    for outside in ("http:", "https:", "<script", "<link", "url(", "<iframe", "@import"):
        assert outside not in page


def test_provenance_lists_sources_devices_versions_and_params(markdown):
    text = markdown[markdown.index("\n## Provenance\n") :]
    assert "Europe points: embedded source" in text and "Faces: embedded source, CNN backbone mobilenet_v2" in text
    versions = "numpy 2.4.6, python 3.11.7, torch 2.14.1"
    assert f"| device=cpu, platform=x86_64, replicates_first=0 | {versions} | 6 |" in text
    assert f"| device=cuda, platform=x86_64, replicates_first=0 | {versions}+cu130 | 2 |" in text
    assert f"matplotlib {metadata.version('matplotlib')}" in text and f"torch {metadata.version('torch')}" in text
    assert "Library versions pinned in constraints.txt: torch 2.14.1, torchvision 0.29.1" in text
    assert "```\n" + yaml.safe_dump(synth.PARAMS, sort_keys=False).rstrip() + "\n```" in text


def test_no_wall_clock_number_in_the_report(built, markdown, page):
    timings = (built / "timings/mlp_batch.json").read_text()
    seconds = [*synth.SECONDS_PER_EPOCH.values(), synth.WALL_SECONDS]
    assert all(str(s) in timings for s in seconds)  # the tree has them: none may reach the report
    for value in [*seconds, *(round(s * 3, 3) for s in synth.SECONDS_PER_EPOCH.values())]:
        assert str(value) not in markdown and str(value) not in page
    assert "reports/timings.md" in section(markdown, "1.1.4")


def test_report_is_byte_identical_on_rerun(built, stage):
    before = [(built / f"reports/report.{ext}").read_bytes() for ext in ("md", "html")]
    result = stage("report.py", synth.stage_args("report"), built, None)
    assert result.returncode == 0, result.stderr
    assert [(built / f"reports/report.{ext}").read_bytes() for ext in ("md", "html")] == before


def test_report_without_figures_is_one_error_line_and_writes_nothing(built, stage, tmp_path):
    swap = {
        "plots/figures": str(tmp_path / "no_figures"),
        "reports/report.md": str(tmp_path / "r.md"),
        "reports/report.html": str(tmp_path / "r.html"),
    }
    result = stage("report.py", [swap.get(a, a) for a in synth.stage_args("report")], built, None)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "no_figures" in lines[0] and "`dvc repro figures`" in lines[0]
    assert not (tmp_path / "r.md").exists() and not (tmp_path / "r.html").exists()


def test_to_markdown_and_to_html_render_each_block_kind(tmp_path):
    image = tmp_path / "plots" / "x.png"
    figures.save(figures.Figure(figsize=(1, 1)), image, dpi=10)
    blocks = [
        ("h", 2, "A & B"),
        ("p", "a < b"),
        ("list", ["one", "<two>"]),
        ("code", "k: 1\n"),
        ("img", image, "cap <1>"),
        (
            "table",
            ["claim", "verdict"],
            [
                ["x|y", "holds"],
                ["z", "does not hold"],
                ["w", "cannot be judged"],
                ["v", "holds, mostly"],
                ["u", "cannot be judged (within noise)"],
            ],
        ),
    ]
    md = render.to_markdown(blocks, tmp_path / "reports")
    assert md == (
        "## A & B\n\na < b\n\n- one\n- <two>\n\n```\nk: 1\n```\n\n![cap <1>](../plots/x.png)\n\n*cap <1>*\n\n"
        "| claim | verdict |\n|---|---|\n| x\\|y | holds |\n| z | does not hold |\n| w | cannot be judged |\n"
        "| v | holds, mostly |\n| u | cannot be judged (within noise) |\n"
    )
    page = render.to_html(blocks, "t & u")
    assert page.startswith("<!DOCTYPE html>") and "<title>t &amp; u</title>" in page
    for fragment in (
        "<h2>A &amp; B</h2>",
        "<p>a &lt; b</p>",
        "<ul><li>one</li><li>&lt;two&gt;</li></ul>",
        "<pre>k: 1\n</pre>",
        '<figure><img src="data:image/png;base64,',
        'alt="cap &lt;1&gt;"',
        "<figcaption>cap &lt;1&gt;</figcaption>",
        "<th>claim</th><th>verdict</th>",
        '<td><span class="holds">holds</span></td>',
        '<td><span class="fails">does not hold</span></td>',
        '<td><span class="unjudged">cannot be judged</span></td>',
        "<td>holds, mostly</td>",
        '<td><span class="unjudged">cannot be judged (within noise)</span></td>',
    ):
        assert fragment in page, fragment
    src = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(src) == image.read_bytes()


def test_replicates_read_back_from_their_table_and_a_damaged_table_is_one_line(tmp_path):
    import math

    from nnrepro import io
    from nnrepro.errors import UserError
    from nnrepro.report import readback

    histories = [
        [{"epoch": 1.0, "train_loss": 2.0, "validation_acc": 0.5}, {"epoch": 2.0, "train_loss": 1.5}],
        [{"epoch": 1.0, "train_loss": 2.5, "validation_acc": 0.4}, {"epoch": 2.0, "train_loss": math.nan}],
    ]
    io.log_replicates(histories, tmp_path / "run")
    reps = readback.replicates(tmp_path / "run")
    assert [r["train_loss"] for r in reps] == [[2.0, 1.5], [2.5, None]]
    assert [r["validation_acc"] for r in reps] == [[0.5, None], [0.4, None]]
    assert [r["diverged"] for r in reps] == [False, True] and reps[0]["test_acc"] == []
    (tmp_path / "run" / "replicates.tsv").write_text("step\tloss\n0\t1.0\n")
    with pytest.raises(UserError, match=r"run/replicates.tsv is not a replicates table"):
        readback.replicates(tmp_path / "run")


def test_claims_json_gives_each_claim_its_interval_margin_seeds_and_mde_and_no_wall_clock_claim(claims):
    judged = ["sentence", "verdict", "reason", "undecided", "note", "effect", "noise", "interval", "margin"]
    judged += [
        "margin_in_intervals",
        "seeds_counted",
        "seeds_above",
        "seed_effects",
        "min_detectable_effect",
        "threshold_sensitive",
    ]
    assert "larger_batches_faster" not in claims  # judged in reports/timings.md
    for entry in claims.values():
        assert list(entry)[: len(judged) + 2] == ["claim", "section", *judged]
        assert {"sensitive_to", "verdict_with_previous", "holds", "evidence"} <= set(entry)
        if entry["interval"] is not None:
            low, high = entry["interval"]
            half = (high - low) / 2
            assert entry["margin_in_intervals"] == pytest.approx((entry["effect"] - entry["margin"]) / half, rel=1e-3)
            assert entry["verdict"] != "holds" or entry["margin_in_intervals"] > 1
