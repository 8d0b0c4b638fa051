"""The report as a list of blocks, rendered to Markdown (figures linked) and to self-contained HTML (embedded)."""

import base64
import html
import os
import re
from pathlib import Path

from nnrepro.report.claims.core import CANNOT, FAILS, HOLDS, REASONS, TIE, WITHIN_NOISE, shown_verdict
from nnrepro.report.figures import CAPTIONS
from nnrepro.report.figures import MISCLASSIFIED_SHOWN as SHOWN

# The course report's sections: (number, title, figures). Claims find their section by its number.
SECTIONS = [
    ("1", "Multi-layer perceptrons on points of Europe", []),
    ("1.1", "Optimisation of an MLP", []),
    ("1.1.1", "Learning rate", ["fig01_lr_sweep"]),
    ("1.1.2", "A long run", ["fig02_long_run"]),
    ("1.1.3", "Batch normalisation", ["fig03_lr_sweep_batchnorm", "fig04_long_run_batchnorm"]),
    ("1.1.4", "Batch size and epochs", ["fig05_batch_test_accuracy", "fig06_batch_test_loss"]),
    ("1.2", "Evaluating MLPs", []),
    ("1.2.1", "The best model", ["fig07_best_grid_loss", "fig08_best_grid_boundary"]),
    ("1.2.2", "The worst model", ["fig09_worst_grid_loss", "fig10_worst_grid_boundary"]),
    ("1.2.3", "Depth", ["fig11_acc_vs_depth", "fig15_grid_heatmap"]),
    ("1.2.4", "Width", ["fig12_acc_vs_width"]),
    ("1.2.5", "Gradient magnitudes", ["fig13_gradients"]),
    ("1.2.6", "Extra: sine input features", ["fig16_sine_boundaries"]),
    ("2", "Convolutional networks: real or generated faces", []),
    ("2.1", "Baselines and learning rates", ["fig17_faces_samples", "fig14_cnn_lr"]),
    ("2.2", "Misclassified images", ["misclassified_best", "misclassified_worst"]),
]
VERSIONS = ("torch", "torchvision", "numpy", "pandas", "matplotlib", "xgboost", "dvc", "dvclive")


# ---------------------------------------------------------------- blocks -> Markdown / HTML


def to_markdown(blocks: list, base: Path) -> str:
    """Markdown with images linked relative to `base` (the report's folder)."""
    out = []
    for kind, *rest in blocks:
        if kind == "h":
            out.append(f"{'#' * rest[0]} {rest[1]}")
        elif kind == "p":
            out.append(rest[0])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in rest[0]))
        elif kind == "code":
            out.append(f"```\n{rest[0].rstrip()}\n```")
        elif kind == "img":
            path, caption = rest
            link = Path(os.path.relpath(Path(path).resolve(), base)).as_posix()
            out.append(f"![{caption}]({link})\n\n*{caption}*")
        elif kind == "table":
            header, rows = rest
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def data_uri(path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;line-height:1.45}"
    "img{max-width:100%}figure{margin:1.5em 0}figcaption{font-style:italic;color:#444}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;"
    "vertical-align:top}.holds{color:#166316;font-weight:bold}.fails{color:#b00020;font-weight:bold}"
    ".unjudged{color:#8a6d00;font-weight:bold}"
    "pre{background:#f4f4f4;padding:.8em;overflow-x:auto}"
)


VERDICT_CLASSES = {FAILS: "fails", HOLDS: "holds", CANNOT: "unjudged"}


def _cell(text) -> str:
    """A table cell, a verdict (alone or with its note in parentheses) styled by its class."""
    text = html.escape(str(text))
    shown = re.fullmatch(r"(holds|does not hold|cannot be judged)( \(.+\))?", text)
    return f'<span class="{VERDICT_CLASSES[shown[1]]}">{text}</span>' if shown else text


def to_html(blocks: list, title: str) -> str:
    """One self-contained page: inline CSS, every image embedded as a data URI (opens offline)."""
    out = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
    ]
    for kind, *rest in blocks:
        if kind == "h":
            out.append(f"<h{rest[0]}>{html.escape(rest[1])}</h{rest[0]}>")
        elif kind == "p":
            out.append(f"<p>{html.escape(rest[0])}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in rest[0]) + "</ul>")
        elif kind == "code":
            out.append(f"<pre>{html.escape(rest[0])}</pre>")
        elif kind == "img":
            path, caption = rest
            out.append(
                f'<figure><img src="{data_uri(path)}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        elif kind == "table":
            header, rows = rest
            head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- content


def _f(value, digits: int = 3) -> str:
    return "diverged" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _g(value) -> str:
    return f"{value:.3g}"


def _effect(claim: dict) -> str:
    """'effect [95% interval] vs margin' in the claim's unit; '-' where it has none (missing, or stopped early)."""
    if claim["effect"] is None:
        return "-"
    if claim["interval"] is None:  # one run without a noise
        return f"{_g(claim['effect'])} (no noise) vs margin {_g(claim['margin'])}"
    low, high = claim["interval"]
    return f"{_g(claim['effect'])} [{_g(low)}, {_g(high)}] vs margin {_g(claim['margin'])}"


def _seeds(claim: dict) -> str:
    """The seeds counted, and how many of them lie above the margin ('-' where the claim stopped early)."""
    if not claim["seeds_counted"]:
        return "-"
    return f"{claim['seeds_counted']} counted, {claim['seeds_above']} above the margin"


def _mde(claim: dict) -> str:
    mde = claim["min_detectable_effect"]
    return "-" if mde is None else _g(mde)


def why_undecided(claim: dict) -> str:
    """For a claim within noise: a true tie (its seeds decide 2 single-seed SDs: the effect is smaller than that) or
    too few seeds (its minimum detectable effect is larger); '' for any other claim."""
    if claim["verdict"] != CANNOT or claim["reason"] != WITHIN_NOISE:
        return ""
    distance = abs(claim["effect"] - claim["margin"])
    if claim["undecided"] == TIE:
        return (
            f"a true tie: {_g(distance)} from the margin, with seeds that decide {_g(claim['min_detectable_effect'])}"
        )
    return (
        f"too few seeds: {_g(distance)} from the margin, the minimum detectable effect "
        f"{_g(claim['min_detectable_effect'])}"
    )


def _sensitive(claim: dict) -> str:
    return f"yes ({claim['sensitive_to']})" if claim["threshold_sensitive"] else "no"


def claim_table(claims: dict) -> tuple:
    header = [
        "claim",
        "section",
        "course's words",
        "verdict",
        "seeds",
        "effect [95% interval] vs margin",
        "min. detectable effect",
        "threshold-sensitive",
        "evidence",
    ]
    return header, [
        [
            c["claim"],
            c["section"],
            f"“{c['sentence']}”",
            shown_verdict(c),
            _seeds(c),
            _effect(c),
            _mde(c),
            _sensitive(c),
            c["evidence"],
        ]
        for c in claims.values()
    ]


def claim_paragraph(claim: dict) -> str:
    """A claim beside its section: verdict (and why within noise), seeds, effect with its interval, the minimum
    detectable effect, threshold sensitivity, the course's words."""
    sensitive = "; threshold-sensitive" if claim["threshold_sensitive"] else ""
    why = f"; {why_undecided(claim)}" if why_undecided(claim) else ""
    return (
        f"Claim ({shown_verdict(claim)}{why}; seeds: {_seeds(claim)}; effect {_effect(claim)}; minimum detectable "
        f"effect {_mde(claim)}{sensitive}): {claim['claim']} Course ({claim['section']}): “{claim['sentence']}”. "
        f"Evidence: {claim['evidence']}."
    )


def previous_table(claims: dict) -> tuple:
    """One row per claim and re-derived threshold: the verdict under its previous value, and now."""
    rows = [
        [c["claim"], name, verdict, c["verdict"]]
        for c in claims.values()
        for name, verdict in (c.get("verdict_with_previous") or {}).items()
    ]
    return ["claim", "threshold", "verdict with its previous value", "verdict now"], rows


def claim_counts(claims: dict) -> str:
    verdicts = [c["verdict"] for c in claims.values()]
    reasons = [c["reason"] for c in claims.values() if c["verdict"] == CANNOT]
    return (
        f"{verdicts.count(HOLDS)} hold, {verdicts.count(FAILS)} do not hold, {verdicts.count(CANNOT)} cannot be "
        f"judged ({', '.join(f'{reasons.count(why)} {why}' for why in REASONS)}), of {len(claims)}"
    )


def _sweep_table(facts: dict, variant: str) -> list:
    rows = [
        [
            f"{lr:g}",
            _f(run.get("final_validation_loss")),
            _f(run.get("final_validation_acc")),
            "yes" if run["diverged"] else "no",
        ]
        for lr, run in facts["lr_sweep"][variant].items()
    ]
    return [("table", ["learning rate", "final validation loss", "final validation accuracy", "diverged"], rows)]


def _long_text(facts: dict, variant: str) -> list:
    run = facts["long"][variant]
    return [
        (
            "p",
            f"Long run ({variant}): final test accuracy {_f(run.get('final_test_acc'))}, best validation "
            f"accuracy {_f(run.get('best_validation_acc'))} at epoch {_f(run.get('best_epoch'), 0)}.",
        )
    ]


def section_text(number: str, facts: dict, sine: dict, course: dict) -> list:
    """The numbers a section's reader wants beside its figures, ours and, where it gives them, the course's."""
    grid = facts["grid"]
    if number == "1.1.1":
        return _sweep_table(facts, "plain")
    if number == "1.1.2":
        return _long_text(facts, "plain") + [
            (
                "p",
                "Course: the most dramatic change happens up to about epoch "
                f"{course['1.1.2']['steep_drop_until_epoch']}.",
            )
        ]
    if number == "1.1.3":
        return _sweep_table(facts, "batchnorm") + _long_text(facts, "batchnorm")
    if number == "1.1.4":
        rows = [
            [
                p["batch_size"],
                p["epochs"],
                p["iterations_per_epoch"],
                _f(p["test_acc"][0] if p["test_acc"] else None),
                _f(p.get("final_test_acc")),
            ]
            for p in facts["batch"].values()
        ]
        return [
            (
                "table",
                ["batch size", "epochs", "iterations per epoch", "first test accuracy", "final test accuracy"],
                rows,
            ),
            (
                "p",
                f"Course: batch 1 after one epoch reaches about {course['1.1.4']['batch_1_one_epoch_test_acc']}"
                " test accuracy. Seconds per epoch: reports/timings.md (wall-clock, kept out of this page).",
            ),
        ]
    if number in ("1.2.1", "1.2.2"):
        rank = "best" if number == "1.2.1" else "worst"
        cell = grid["cells"][grid[rank]]
        return [
            (
                "p",
                f"Chosen by final validation accuracy among the {grid['select_from']} cells: {rank} "
                f"{grid[rank]} (train {_f(cell['final_train_acc'])}, validation "
                f"{_f(cell['final_validation_acc'])}, test {_f(cell['final_test_acc'])}).",
            )
        ]
    if number in ("1.2.3", "1.2.4"):
        axis, other = ("depth", "width") if number == "1.2.3" else ("width", "depth")
        fixed = grid[f"{axis}_slice_{other}"]
        rows = [
            [c[axis], _f(c["final_train_acc"]), _f(c["final_validation_acc"]), _f(c["final_test_acc"])]
            for c in sorted(grid["cells"].values(), key=lambda c: c[axis])
            if c[other] == fixed
        ]
        return [("table", [axis, "train accuracy", "validation accuracy", "test accuracy"], rows)]
    if number == "1.2.5":
        probe = facts["probe"]
        return [
            (
                "p",
                f"{len(probe['plain']['seeds'])} seeds per variant, {probe['depth']} hidden layers, PyTorch's "
                f"default initialisation. Course: layers before {course['1.2.5']['nonzero_from_layer']} "
                "vanish.",
            )
        ]
    if number == "1.2.6":
        return [
            (
                "p",
                "; ".join(f"{name} features: test accuracy {_f(m.get('final_test_acc'))}" for name, m in sine.items())
                + ".",
            )
        ]
    if number == "2.1":
        return cnn_table(facts["cnn"], course["2.1"])
    if number == "2.2":
        return misclassified_blocks(facts["cnn"]["selection"], course["2.2"])
    return []


def cnn_table(cnn: dict, course: dict) -> list:
    """Best, second-best and worst learning rate per baseline (chosen on validation), ours beside the course's."""
    header = ["baseline", "rank", "learning rate", "validation accuracy", "test accuracy", "course: lr, test accuracy"]
    rows = []
    for baseline in cnn["selection"]["baseline_order"]:
        for rank, row in cnn["selection"]["baselines"][baseline].items():
            if row is not None:
                theirs = course.get(baseline, {}).get(rank)
                rows.append(
                    [
                        baseline,
                        rank.replace("_", " "),
                        f"{row['lr']:g}",
                        _f(row["validation_acc"]),
                        _f(row["test_acc"]),
                        f"{theirs[0]}, {theirs[1]}" if theirs else "-",
                    ]
                )
    xgb, theirs = cnn["xgboost"], course["xgboost"]["best"]
    rows.append(
        ["xgboost", "-", "default", _f(xgb["validation_acc"]), _f(xgb["test_acc"]), f"{theirs[0]}, {theirs[1]}"]
    )
    return [
        (
            "p",
            "Per baseline, its learning rates ranked by validation accuracy; test accuracy as in the course's table.",
        ),
        ("table", header, rows),
    ]


def misclassified_blocks(selection: dict, course: dict) -> list:
    blocks: list[tuple] = [
        (
            "p",
            "As the course chose them: the best cell of each baseline, then the best and the worst baseline. "
            f"Course: best {course['best'][0]} at lr {course['best'][1]}, worst {course['worst'][0]} at lr "
            f"{course['worst'][1]}.",
        )
    ]
    for rank, wrong in selection["misclassified"].items():
        names = [f"{w['name']} ({'fake' if w['label'] else 'real'}, p={w['probability']:.2f})" for w in wrong["images"]]
        blocks += [
            (
                "p",
                f"{rank} model {wrong['cell']}: {len(names)} misclassified test images"
                + (f" (first {SHOWN} listed)" if len(names) > SHOWN else "")
                + ":",
            ),
            ("list", names[:SHOWN] or ["none"]),
        ]
    return blocks


def provenance_blocks(records: dict, config: dict, params_text: str, pins: dict) -> list:
    rows = [
        [
            ", ".join(f"{k}={v}" for k, v in key if k in ("device", "platform", "replicates_first")),
            ", ".join(f"{k} {v}" for k, v in key if k in ("python", "torch", "numpy")),
            len(files),
        ]
        for key, files in records.items()
    ]
    versions = [f"{name} {pins.get(name, 'not pinned')}" for name in VERSIONS]
    return [
        ("h", 2, "Provenance"),
        (
            "list",
            [
                f"Europe points: {config['europe']['source']} source "
                "(embedded: Natural Earth 1:10m polygons, public domain, sampled from data_seed)",
                f"Faces: {config['faces']['source']} source, CNN backbone {config['cnn']['arch']}",
                f"data_seed {config['data_seed']}, replicates from seed {config['replicates']['first']}, "
                f"device setting {config['device']}",
            ],
        ),
        ("p", "Device and versions recorded by the training stages (one row per distinct record):"),
        ("table", ["device", "versions", "stages"], rows),
        ("p", "Library versions pinned in constraints.txt: " + ", ".join(versions) + "."),
        ("p", "params.yaml:"),
        ("code", params_text),
    ]


def blocks(data: dict) -> list:
    """The whole report: the course's sections with figures, numbers and claim verdicts, the claim table,
    provenance. `data`: facts, sine, course, claims, figures (folder), provenance, params, params_text."""
    claims, figure_dir = data["claims"], Path(data["figures"])
    out: list[tuple] = [
        ("h", 1, "Reproduction of the course report: how neural networks learn"),
        (
            "p",
            "Generated by the `report` stage from the pipeline's tracked results; nothing is retrained. Every "
            "analytic sentence of the course report is a claim, judged from each seed's effect: it holds where "
            "the 95% Student-t interval of their mean lies wholly above its margin, does not hold where wholly "
            "below, and otherwise cannot be judged (within noise: a true tie where the seeds decide an effect of "
            "2 single-seed SDs, too few seeds where they do not), nor where a run it compares with collapsed or a "
            f"part is missing: {claim_counts(claims)}. A threshold-sensitive verdict changes when one of its "
            "thresholds moves 25% either way (an integer at least one step). Wall-clock timings are on a page of "
            "their own, reports/timings.md.",
        ),
    ]
    for number, title, figs in SECTIONS:
        out.append(("h", min(4, number.count(".") + 2), f"{number} {title}"))
        out += section_text(number, data["facts"], data["sine"], data["course"])
        out += [("img", figure_dir / f"{name}.png", CAPTIONS[name]) for name in figs]
        out += [("p", claim_paragraph(c)) for c in claims.values() if c["section"] == number]
    out += [("h", 2, "Claims"), ("img", figure_dir / "fig18_verdicts.png", CAPTIONS["fig18_verdicts"])]
    out += [("table", *claim_table(claims))]
    header, rows = previous_table(claims)
    if rows:
        intro = "Thresholds re-derived from the course's text alone (reference/thresholds.yaml): each verdict before"
        out += [("p", f"{intro} and after."), ("table", header, rows)]
    return out + provenance_blocks(data["provenance"], data["params"], data["params_text"], data["pins"])


def write(data: dict, markdown_path, html_path) -> None:
    """reports/report.md (figures linked) and reports/report.html (figures embedded)."""
    from nnrepro import io
    from nnrepro.errors import UserError

    report = blocks(data)
    for kind, *rest in report:
        if kind == "img" and not Path(rest[0]).exists():
            raise UserError(f"{rest[0]} is missing: run `dvc repro figures` first")
    io.write_text(markdown_path, to_markdown(report, Path(markdown_path).resolve().parent))
    io.write_text(html_path, to_html(report, "nnrepro report"))
