"""Reading the pipeline's tracked outputs back (metrics, DVCLive histories, tables, selections) as plain data for
the reporting side: claims, figures and the report. Imports no training code."""

import argparse
import csv
import math
from pathlib import Path

import yaml

from nnrepro import io
from nnrepro.cells import cnn_file
from nnrepro.errors import UserError, missing
from nnrepro.replicates import REPLICATE, index

RESULTS = {  # option -> the names of its paths: the tracked results every reporting stage reads back
    "mlp_lr": ("METRICS_DIR", "LIVE_DIR"),
    "mlp_long": ("METRICS", "LIVE_DIR"),
    "mlp_batch": ("METRICS", "LIVE_DIR"),
    "evaluate": ("METRICS", "FOLDER"),
    "grad_probe": ("FOLDER",),
    "cnn_selection": ("JSON",),
}


def parser(description: str) -> argparse.ArgumentParser:
    """The reporting stages' command line: the RESULTS options; each stage adds its own outputs."""
    result = argparse.ArgumentParser(description=description)
    for name, metavar in RESULTS.items():
        several = len(metavar) > 1
        result.add_argument(
            f"--{name.replace('_', '-')}",
            type=Path,
            required=True,
            metavar=metavar if several else metavar[0],
            nargs=len(metavar) if several else None,
        )
    return result


def result_paths(args: argparse.Namespace) -> dict:
    """The RESULTS paths of parsed arguments, as facts() takes them."""
    return {name: getattr(args, name) for name in RESULTS}


JUDGING = {  # option -> (metavar, help): what the claims stage alone reads, beyond RESULTS
    "grid_metrics": ("DIR", "mlp_grid's metrics folder (each cell's replicates)"),
    "europe_validation": ("CSV", "the Europe validation split (its largest class's share)"),
    "cnn_predictions": ("DIR", "the CNN cells' per-image predictions"),
    "course": ("YAML", "the course report's numbers"),
}
COLLAPSE_TOLERANCE = 1e-3  # validation accuracy this close to the largest class's share: one class predicted


def add_judging(parser: argparse.ArgumentParser) -> None:
    for name, (metavar, text) in JUDGING.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, required=True, metavar=metavar, help=text)


def judging_paths(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in JUDGING}


def require(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise missing(path)
    return path


def read_json(path):
    return io.read_json(require(path))


def _number(text: str):
    value = float(text)
    return value if math.isfinite(value) else None


def read_csv(path, delimiter: str = ",") -> list[dict]:
    """Rows of a CSV (or TSV) written by the pipeline, numbers parsed (empty or non-finite cells are None)."""
    with require(path).open(newline="") as handle:
        return [{k: _cell(v) for k, v in row.items()} for row in csv.DictReader(handle, delimiter=delimiter)]


def _cell(text: str):
    try:
        return _number(text)
    except ValueError:
        return {"True": True, "False": False, "": None}.get(text, text)


def history(folder) -> dict:
    """A DVCLive folder (or a copy of its plots/metrics) as {key: [value per step]}; 'train/loss' -> 'train_loss'."""
    folder = require(folder)
    root = folder / "plots" / "metrics" if (folder / "plots" / "metrics").is_dir() else folder
    columns, steps = {}, set()
    for tsv in sorted(p for p in root.rglob("*.tsv") if p.name != io.REPLICATES_FILE):
        key = tsv.relative_to(root).with_suffix("").as_posix().replace("/", "_")
        with tsv.open(newline="") as handle:
            try:
                columns[key] = {
                    int(row["step"]): _number(row[tsv.stem]) for row in csv.DictReader(handle, delimiter="\t")
                }
            except (KeyError, TypeError, ValueError) as err:
                raise UserError(
                    f"{tsv} is not a DVCLive step file ({type(err).__name__}: {err}): rerun the stage that writes it"
                ) from None
        steps |= set(columns[key])
    if not columns:
        raise missing(f"the DVCLive history in {folder}")
    order = sorted(steps)
    return {key: [values.get(step) for step in order] for key, values in columns.items()}


def replicates(folder) -> list[dict]:
    """Each replicate's history (folder/replicates.tsv, io.log_replicates) with `diverged` where its loss stopped
    being finite; a run of one seed, written without that table, is its own only replicate."""
    table = Path(folder) / io.REPLICATES_FILE
    if table.is_file():
        rows = read_csv(table, "\t")
        if not rows or "replicate" not in rows[0]:
            raise UserError(
                f"{table} is not a replicates table (no rows, or no 'replicate' column): rerun the stage that writes it"
            )
        order = sorted({row["replicate"] for row in rows}, key=index)
        keys = [k for k in io.HISTORY_KEYS if rows and k in rows[0]]
        histories = [{k: [row[k] for row in rows if row["replicate"] == name] for k in keys} for name in order]
    else:
        histories = [history(folder)]
    return [
        {**{k: h.get(k, []) for k in io.HISTORY_KEYS}, "diverged": None in h.get("train_loss", [])} for h in histories
    ]


def training_run(metrics: dict, live_dir) -> dict:
    """RUN: a training run's summary metrics, its history over the seeds' mean (one list per key), whether it
    diverged, and each replicate's history (REPLICATES)."""
    steps = history(live_dir)
    return {
        **metrics,
        "diverged": bool(metrics.get("diverged")),
        **{k: steps.get(k, []) for k in io.HISTORY_KEYS},
        "replicates": replicates(live_dir),
    }


def _runs(metrics_path, live_dir) -> dict:
    return {name: training_run(m, Path(live_dir) / name) for name, m in read_json(metrics_path).items()}


def lr_sweep(metrics_dir, live_dir) -> dict:
    """{'plain'|'batchnorm': {lr: RUN}, lr descending} for the cells mlp_lr wrote: every metrics file in its folder,
    each naming its lr and batchnorm (file names are never rebuilt from params, which may have changed since)."""
    files = sorted(require(metrics_dir).glob("*.json"))
    if not files:
        raise missing(f"mlp_lr's cells in {metrics_dir}", "mlp_lr")
    cells = [(read_json(path), path.stem) for path in files]
    sweep: dict[str, dict] = {}
    for bn in sorted({bool(metrics["batchnorm"]) for metrics, _ in cells}):
        ordered = sorted(((m, c) for m, c in cells if bool(m["batchnorm"]) == bn), key=lambda mc: -float(mc[0]["lr"]))
        sweep["batchnorm" if bn else "plain"] = {
            float(metrics["lr"]): training_run(metrics, Path(live_dir) / cell) for metrics, cell in ordered
        }
    return sweep


def batch_pairs(metrics_path, live_dir) -> dict:
    """{'b1-e1': BATCHRUN, ...} sorted by batch size (wall-clock seconds stay in reports/timings.md)."""
    pairs = _runs(metrics_path, live_dir)
    return dict(sorted(pairs.items(), key=lambda kv: (kv[1]["batch_size"], kv[1]["epochs"])))


def grid(metrics_path, folder) -> dict:
    """The evaluate stage's grid: cells, best and worst, the slices' fixed values, best/worst histories."""
    summary, folder = read_json(metrics_path), Path(folder)
    cells = {
        row["cell"]: {**row, "depth": int(row["depth"]), "width": int(row["width"])}
        for row in read_csv(folder / "grid.csv")
    }
    return {
        "cells": cells,
        "best": summary["best_cell"],
        "worst": summary["worst_cell"],
        "select_from": summary["select_from"],
        "depth_slice_width": summary["depth_slice_width"],
        "width_slice_depth": summary["width_slice_depth"],
        **{
            f"{rank}_history": {
                "diverged": bool(cells[summary[f"{rank}_cell"]]["diverged"]),
                **history(folder / f"{rank}_history"),
                "replicates": replicates(folder / f"{rank}_history"),
            }
            for rank in ("best", "worst")
        },
        "best_points": best_points(folder / "best_test_predictions.csv"),
        "points": {
            path.name.removesuffix(POINTS_SUFFIX): best_points(path)
            for path in sorted(folder.glob(f"*{POINTS_SUFFIX}"))
            if path.name.removesuffix(POINTS_SUFFIX) in cells
        },
    }


POINTS_SUFFIX = "_test_predictions.csv"  # evaluate's per-point predictions: best_..., and each width-slice cell's


def best_points(path: Path) -> dict | None:
    """A model's test points (the best model's, or a width-slice cell's): long, lat, true country's name, and each
    replicate's predicted country (columns rep<k>); None while the evaluate stage does not write them."""
    if not path.exists():
        return None
    rows = read_csv(path)
    reps = sorted((k for k in rows[0] if k.startswith(REPLICATE.format(""))), key=index)
    return {
        **{key: [r[key] for r in rows] for key in ("long", "lat", "country")},
        "replicates": [{"predicted": [r[k] for r in rows]} for k in reps],
    }


def probe(folder) -> dict:
    """grad_probe's per-seed curves: {'depth', 'plain': PROBE, 'residual': PROBE}."""
    curves = read_json(Path(folder) / "probe.json")
    result = {"depth": curves["depth"]}
    for variant in ("plain", "residual"):
        result[variant] = {"layers": curves["layers"], "seeds": curves["seeds"], **curves[variant]}
    return result


def cnn(selection_path) -> dict:
    """The CNN cells by baseline and learning rate, XGBoost, and the cnn_evaluate stage's whole selection."""
    chosen = read_json(selection_path)
    cells: dict[str, dict] = {}
    for row in chosen["cells"]:
        cells.setdefault(row["baseline"], {})[float(row["lr"])] = row
    return {"cells": cells, "xgboost": chosen["xgboost"], "selection": chosen}


def facts(paths: dict, judging: dict | None = None) -> dict:
    """Everything the claims (and the report's numbers) are judged on, from the paths a stage was given. `judging`
    (JUDGING's paths, the claims stage alone): wall-clock seconds per batch pair, each grid cell's replicates, the
    course's numbers, and every run, cell and seed marked `collapsed` or not."""
    judging = judging or {}
    lr_metrics, lr_live = paths["mlp_lr"]
    batch_metrics, batch_live = paths["mlp_batch"]
    result = {
        "lr_sweep": lr_sweep(lr_metrics, lr_live),
        "long": _runs(*paths["mlp_long"]),
        "batch": batch_pairs(batch_metrics, batch_live),
        "grid": grid(*paths["evaluate"]),
        "probe": probe(paths["grad_probe"]),
        "cnn": cnn(paths["cnn_selection"]),
    }
    if judging:
        grid_replicates(result["grid"]["cells"], judging["grid_metrics"])
        cnn_predictions(result["cnn"], judging["cnn_predictions"])
        mark_collapsed(result, largest_share(judging["europe_validation"]))
        result["course"] = yaml.safe_load(require(judging["course"]).read_text())
    return result


def grid_replicates(cells: dict, metrics_dir) -> None:
    """Each grid cell's per-seed summaries (mlp_grid's metrics, "replicates"), in order; without: the cell alone."""
    for name, cell in cells.items():
        reps = read_json(Path(metrics_dir) / f"{name}.json").get("replicates") or {}
        order = sorted(reps, key=index)
        cell["replicates"] = [reps[k] for k in order] or [{k: v for k, v in cell.items() if k != "replicates"}]


def cnn_predictions(cnn_facts: dict, folder) -> None:
    """From the CNN cells' predictions: each cell's `one_class` (every validation image given one class), the images
    per split (n_images) and the largest class's share of the validation split (the same images in every cell)."""
    predictions = {
        row["cell"]: read_csv(cnn_file(folder, row["baseline"], row["cell"], ".csv"))
        for row in cnn_facts["selection"]["cells"]
    }
    for row in cnn_facts["selection"]["cells"]:
        row["one_class"] = len({r["prediction"] for r in predictions[row["cell"]] if r["split"] == "validation"}) == 1
    rows = next(iter(predictions.values()), [])
    labels = [r["label"] for r in rows if r["split"] == "validation"]
    cnn_facts["n_images"] = {split: sum(r["split"] == split for r in rows) for split in ("validation", "test")}
    cnn_facts["largest_share"] = max(labels.count(c) for c in set(labels)) / len(labels) if labels else None


def largest_share(split_csv) -> float:
    """The share of a Europe split's largest class: a model predicting one class scores about this."""
    labels = [row["country"] for row in read_csv(split_csv)]
    return max(labels.count(c) for c in set(labels)) / len(labels)


def _near(accuracy, share) -> bool:
    return (
        accuracy is not None
        and share is not None
        and math.isfinite(accuracy)
        and abs(accuracy - share) <= COLLAPSE_TOLERANCE
    )


def _last_validation(run: dict):
    finite = [v for v in run.get("validation_acc") or [] if v is not None and math.isfinite(v)]
    return finite[-1] if finite else run.get("final_validation_acc")


def mark_collapsed(result: dict, share: float) -> None:
    """`collapsed` on every training run and replicate, grid cell, probe seed and CNN cell: its validation accuracy is
    the largest class's share (a CNN cell and each of its replicates: and, where predictions say, every validation
    image one class)."""
    runs = [
        *result["lr_sweep"].get("plain", {}).values(),
        *result["lr_sweep"].get("batchnorm", {}).values(),
        *result["long"].values(),
        *result["batch"].values(),
        result["grid"]["best_history"],
        result["grid"]["worst_history"],
        *result["grid"]["cells"].values(),
    ]
    for run in runs:
        for record in (run, *run.get("replicates", [])):
            record["collapsed"] = _near(_last_validation(record), share)
    for variant in ("plain", "residual"):
        result["probe"][variant]["collapsed"] = [
            _near(a, share) for a in result["probe"][variant].get("final_validation_acc", [])
        ]
    faces = result["cnn"].get("largest_share") or 0.5  # balanced real and fake faces
    for row in [*result["cnn"]["selection"]["cells"], result["cnn"]["xgboost"]]:
        for record in (row, *row.get("replicates", [])):  # a replicate without `one_class`: by its accuracy alone
            record["collapsed"] = _near(record.get("validation_acc"), faces) and record.get("one_class", True)


def europe(outlines_path, test_csv) -> dict:
    """Country outlines and the test points (longitude, latitude, label) for boundary maps."""
    rows = read_csv(test_csv)
    return {
        "outlines": read_json(outlines_path),
        "points": ([[r["long"], r["lat"]] for r in rows], [int(r["country"]) for r in rows]),
    }


def boundary(path) -> dict:
    import numpy as np

    with np.load(require(path)) as data:
        return {key: data[key] for key in data.files}


def images(cache_path) -> dict:
    """The faces cache (memory-mapped uint8 images, labels, names per split), read without the training code."""
    from nnrepro import imagecache

    return imagecache.load(cache_path)


def pins(constraints_path) -> dict:
    """name -> version of every `name==version` line of a pip constraints file (names lower-case)."""
    lines = require(constraints_path).read_text().splitlines()
    return dict(line.split("#")[0].strip().lower().split("==", 1) for line in lines if "==" in line.split("#")[0])


def provenance(folder) -> dict:
    """Distinct provenance records of the training stages: record (as sorted items) -> files it came from."""
    seen: dict[tuple, list[str]] = {}
    for file in sorted(require(folder).rglob("*.json")):
        seen.setdefault(tuple(sorted(read_json(file).items())), []).append(file.relative_to(folder).as_posix())
    return seen
