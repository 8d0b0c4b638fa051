"""The report as a list of blocks, rendered to Markdown (figures linked) and to self-contained HTML (embedded)."""

import base64
import html
import os
from importlib import metadata
from pathlib import Path

import pandas as pd

from nnrepro import cnn_table
from nnrepro.figures import CAPTIONS

# (number, title, figures, claim indices into claims.check_all's list): the course report's sections 1.1.1 to 2.2.
SECTIONS = [
    ("1.1.1", "Learning rate", ["fig01_lr_sweep", "fig02_long_run"], [0, 1]),
    ("1.1.2", "Batch normalisation", ["fig03_lr_sweep_batchnorm", "fig04_long_run_batchnorm"], [2]),
    ("1.1.3", "Batch size and epochs", ["fig05_batch_test_accuracy", "fig06_batch_test_loss",
                                        "fig17_batch_seconds"], [3, 4]),
    ("1.2.1", "Best and worst depth x width models", ["fig07_best_grid_loss", "fig08_best_grid_boundary",
                                                      "fig09_worst_grid_loss", "fig10_worst_grid_boundary"], []),
    ("1.2.2", "Depth and width", ["fig11_acc_vs_depth", "fig12_acc_vs_width", "fig15_grid_heatmap"], [5]),
    ("1.2.3", "Gradients through a very deep network", ["fig13_gradients"], [6]),
    ("1.2.4", "Sine input features", ["fig16_sine_boundaries"], []),
    ("2.1", "CNN baselines and learning rates", ["fig18_faces_samples", "fig14_cnn_lr"], [7, 8, 9]),
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


STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;line-height:1.45}"
         "img{max-width:100%}figure{margin:1.5em 0}figcaption{font-style:italic;color:#444}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;"
         "vertical-align:top}.holds{color:#166316;font-weight:bold}.fails{color:#b00020;font-weight:bold}"
         "pre{background:#f4f4f4;padding:.8em;overflow-x:auto}")


def _cell(text) -> str:
    text = html.escape(str(text))
    for word, cls in (("does not hold", "fails"), ("holds", "holds")):
        if text == word:
            return f'<span class="{cls}">{text}</span>'
    return text


def to_html(blocks: list, title: str) -> str:
    """One self-contained page: inline CSS, every image embedded as a data URI (opens offline)."""
    out = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
           f"<style>{STYLE}</style></head><body>"]
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
            out.append(f'<figure><img src="{data_uri(path)}" alt="{html.escape(caption)}">'
                       f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        elif kind == "table":
            header, rows = rest
            head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- content

def verdict(claim: dict) -> str:
    return "holds" if claim["holds"] else "does not hold"


def claim_table(claims: list) -> tuple:
    return ["#", "claim", "result", "evidence"], [
        [i + 1, c["claim"], verdict(c), c["evidence"]] for i, c in enumerate(claims)]


def parse_markdown_table(text: str) -> tuple:
    """A pipe table (as cnn_evaluate writes it) back into header and rows."""
    lines = [line.strip().strip("|").split("|") for line in text.strip().splitlines() if line.strip()]
    cells = [[c.strip() for c in line] for line in lines]
    return cells[0], [row for row in cells[1:] if not set("".join(row)) <= set("-: ")]


def misclassified(predictions: pd.DataFrame, cell: str) -> list:
    """Test file names that the cell's model gets wrong (probability of 'fake' > 0.5 against the label)."""
    test = predictions[predictions["split"] == "test"]
    wrong = test[(test[cell] > 0.5).astype(int) != test["label"]]
    return [f"{name} ({'fake' if label else 'real'}, p={p:.2f})"
            for name, label, p in zip(wrong["name"], wrong["label"], wrong[cell])]


def _final(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "null (diverged)" if value is None else f"{value:.3f}"


def section_text(number: str, data: dict) -> list:
    """The numbers a section's reader wants beside its figures, as short paragraphs and tables."""
    if number in ("1.1.1", "1.1.2"):
        bn = number == "1.1.2"
        rows = [[f"{lr:g}", _final(run["metrics"], "final_validation_loss"),
                 _final(run["metrics"], "final_validation_acc"), "yes" if run["metrics"].get("diverged") else "no"]
                for lr, run in data["lr_sweep"][bn].items()]
        long = data["long"]["batchnorm" if bn else "plain"]["metrics"]
        return [("table", ["learning rate", "final validation loss", "final validation accuracy", "diverged"], rows),
                ("p", f"Long run{' with BatchNorm' if bn else ''}: final test accuracy "
                      f"{_final(long, 'final_test_acc')}, best validation accuracy "
                      f"{_final(long, 'best_validation_acc')} at epoch {long.get('best_epoch')}.")]
    if number == "1.1.3":
        rows = [[run["metrics"]["batch_size"], run["metrics"]["epochs"], run["metrics"]["iterations_per_epoch"],
                 _final(run["metrics"], "final_test_acc"),
                 "-" if run["seconds_per_epoch"] is None else f"{run['seconds_per_epoch']:.3g}"]
                for run in data["batch"].values()]
        return [("table", ["batch size", "epochs", "iterations per epoch", "final test accuracy",
                           "seconds per epoch"], rows)]
    if number == "1.2.1":
        s = data["evaluation"]["summary"]
        return [("p", f"Chosen by final validation accuracy: best {s['best_cell']} (validation "
                      f"{_final(s, 'best_validation_acc')}, test {_final(s, 'best_test_acc')}), worst "
                      f"{s['worst_cell']} (validation {_final(s, 'worst_validation_acc')}, test "
                      f"{_final(s, 'worst_test_acc')}).")]
    if number == "1.2.4":
        return [("p", "; ".join(f"{name} features: test accuracy {_final(run['metrics'], 'final_test_acc')}"
                                for name, run in data["sine"].items()) + ".")]
    return []


def cnn_blocks(data: dict) -> list:
    """Section 2.2: the table and the misclassified images with their file names."""
    header, rows = parse_markdown_table(data["cnn_table"])
    chosen = cnn_table.select(data["cnn"]["cells"])
    order = cnn_table.ordered_baselines(chosen)
    blocks = [("h", 2, "2.2 Results: the table and the misclassified images"),
              ("p", "Best, second-best and worst learning rate per baseline, chosen on validation accuracy; "
                    "XGBoost on raw pixels as the reference."),
              ("table", header, rows)]
    for which, baseline, grid in (("best", order[0], data["grids"][0]), ("worst", order[-1], data["grids"][1])):
        cell = chosen[baseline]["best"]["cell"]
        names = misclassified(data["predictions"], cell)
        blocks += [("h", 3, f"Misclassified test images of {cell} (best cell of the {which} baseline)"),
                   ("img", grid, f"{cell}: {len(names)} misclassified test images"),
                   ("p", f"{len(names)} file(s) misclassified" + (": first 48 listed." if len(names) > 48 else ":")),
                   ("list", names[:48] or ["none"])]
    return blocks


def provenance_blocks(data: dict) -> list:
    records = data["provenance"]
    rows = [[", ".join(f"{k}={v}" for k, v in key if k in ("device", "platform", "seed")),
             ", ".join(f"{k} {v}" for k, v in key if k in ("python", "torch", "numpy")), len(files)]
            for key, files in records.items()]
    versions = []
    for name in VERSIONS:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}: not installed")
    config = data["params"]
    return [
        ("h", 2, "Provenance"),
        ("list", [f"Europe points: {config['europe']['source']} source "
                  "(embedded: Natural Earth 1:10m polygons, public domain, sampled from the seed)",
                  f"Faces: {config['faces']['source']} source, CNN backbone {config['cnn']['arch']}",
                  f"seed {config['seed']}, device setting {config['device']}"]),
        ("p", "Device and versions recorded by the training stages (one row per distinct record):"),
        ("table", ["device", "versions", "metrics files"], rows),
        ("p", "Library versions when this report was written: " + ", ".join(versions) + "."),
        ("p", "params.yaml:"),
        ("code", data["params_text"]),
    ]


def blocks(data: dict, claims: list) -> list:
    """The whole report: sections with figures and claim verdicts, the claim table, provenance."""
    figure_dir = Path(data["figures"])
    out = [("h", 1, "Reproduction of the course report: how neural networks learn"),
           ("p", "Generated by the `report` stage from the pipeline's tracked metrics and histories; nothing is "
                 "retrained. Every claim of the course report is checked against these numbers and shown as "
                 "holds / does not hold.")]
    for number, title, figs, claim_ids in SECTIONS:
        level = 3 if number.count(".") == 2 else 2
        if number == "1.1.1":
            out += [("h", 2, "1 MLP on points of Europe"), ("h", 2, "1.1 Training")]
        if number == "1.2.1":
            out.append(("h", 2, "1.2 Architecture"))
        if number == "2.1":
            out.append(("h", 2, "2 CNN: real or generated images"))
        out.append(("h", level, f"{number} {title}"))
        out += section_text(number, data)
        out += [("img", figure_dir / f"{name}.png", CAPTIONS[name]) for name in figs]
        out += [("p", f"Claim: {claims[i]['claim']}: {verdict(claims[i]).upper()} ({claims[i]['evidence']})")
                for i in claim_ids]
    out += cnn_blocks(data)
    held = sum(c["holds"] for c in claims)
    out += [("h", 2, "Claims"), ("p", f"{held} of {len(claims)} claims hold on this data."),
            ("table", *claim_table(claims))]
    return out + provenance_blocks(data)


def write(data: dict, claims: list, markdown_path, html_path) -> None:
    """reports/report.md (figures linked) and reports/report.html (figures embedded)."""
    from nnrepro import io
    from nnrepro.errors import UserError

    report = blocks(data, claims)
    for kind, *rest in report:
        if kind == "img" and not Path(rest[0]).exists():
            raise UserError(f"{rest[0]} is missing: run `dvc repro figures` (or cnn_evaluate) first")
    io.write_text(markdown_path, to_markdown(report, Path(markdown_path).resolve().parent))
    io.write_text(html_path, to_html(report, "nnrepro report"))
