"""Every kind of bad input, bad parameter and foreseeable fault, driven through every stage's entry point.

This table is the one place that enumerates them. Each case calls the stage script's `main` in-process (torch
imported once), in its own folder, where "previous outputs" are planted at every path the stage writes; the case
passes when the stage exits non-zero with one `error: ...` line naming the problem as the last line of stderr, and
every planted file is byte-identical afterwards with nothing added beside it (no temp file, no partial output).
A few cases also run as the real process (END_TO_END), for the exit status and stderr a user sees.
"""

import errno
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import ROOT, run_stage
from pipeline_helpers import tiny_params

from nnrepro.params import Params

PREVIOUS = b"output of an earlier successful run\n"

# Output paths (relative to the case folder; a trailing / is a folder) and arguments of each stage's entry point.
RECORD = ["--metrics", "out/metrics.json", "--provenance", "out/provenance.json", "--timings", "out/timings.json"]
MLP_RUNS = ["--live", "out/live/", "--models", "out/models/", *RECORD]
CNN_OUT = [
    "--predictions",
    "out/predictions/",
    "--models",
    "out/models/",
    "--live",
    "out/live/",
    "--metrics",
    "out/metrics/",
    "--provenance",
    "out/provenance.json",
    "--timings",
    "out/timings.json",
]
FACTS = [
    "--mlp-lr",
    "{none}/metrics/mlp_lr",
    "{none}/plots/mlp_lr",
    "--mlp-long",
    "{none}/mlp_long.json",
    "{none}/plots/mlp_long",
    "--evaluate",
    "{none}/evaluate.json",
    "{none}/plots/evaluate",
    "--grad-probe",
    "{none}/plots/grad_probe",
    "--cnn-selection",
    "{none}/selection.json",
]
STAGES = {
    "prepare_europe": ("prepare_europe.py", ["--out", "out/europe/"]),
    "mlp_lr": (
        "mlp_lr.py",
        [
            "--data",
            "{europe}",
            "--live",
            "out/live/",
            "--models",
            "out/models/",
            "--metrics",
            "out/metrics/",
            "--provenance",
            "out/provenance.json",
            "--timings",
            "out/timings.json",
        ],
    ),
    "mlp_long": ("mlp_long.py", ["--data", "{europe}", *MLP_RUNS]),
    "mlp_batch": ("mlp_batch.py", ["--data", "{europe}", *MLP_RUNS]),
    "mlp_grid": (
        "mlp_grid.py",
        [
            "--data",
            "{europe}",
            "--live",
            "out/live/",
            "--models",
            "out/models/",
            "--metrics",
            "out/metrics/",
            "--provenance",
            "out/provenance.json",
            "--timings",
            "out/timings.json",
        ],
    ),
    "evaluate": (
        "evaluate.py",
        [
            "--data",
            "{europe}",
            "--grid",
            "{in}/grid/metrics",
            "{in}/grid/live",
            "{in}/grid/models",
            "--sine",
            "{in}/sine/models",
            "--out",
            "out/evaluate/",
            *RECORD,
        ],
    ),
    "grad_probe": ("grad_probe.py", ["--data", "{europe}", *MLP_RUNS]),
    "mlp_sine": ("mlp_sine.py", ["--data", "{europe}", *MLP_RUNS]),
    "prepare_faces": ("prepare_faces.py", ["--out", "out/faces/"]),
    "probe_features": (
        "probe_features.py",
        [
            "--data",
            "{cache}",
            "--out",
            "out/probe.pt",
            "--provenance",
            "out/provenance.json",
            "--timings",
            "out/timings.json",
        ],
    ),
    "cnn_scratch": ("cnn.py", ["--baseline", "scratch", "--data", "{cache}", *CNN_OUT]),
    "cnn_probe": ("cnn.py", ["--baseline", "probe", "--data", "{in}/probe.pt", *CNN_OUT]),
    "cnn_finetune": ("cnn.py", ["--baseline", "finetune", "--data", "{cache}", *CNN_OUT]),
    "xgboost": (
        "xgb.py",
        ["--data", "{cache}", "--predictions", "out/predictions.csv", "--model", "out/model.json", *RECORD],
    ),
    "cnn_evaluate": (
        "cnn_evaluate.py",
        [
            "--cells",
            "{in}/cnn/metrics",
            "{in}/cnn/predictions",
            "--xgboost",
            "{in}/xgb.json",
            "--selection",
            "out/selection.json",
            "--by-lr",
            "out/by_lr.csv",
        ],
    ),
    "claims": (
        "claims.py",
        [
            *FACTS,
            "--mlp-batch",
            "{none}/mlp_batch.json",
            "{none}/plots/mlp_batch",
            "--grid-metrics",
            "{none}/mlp_grid",
            "--europe-validation",
            "{none}/validation.csv",
            "--cnn-predictions",
            "{none}/predictions",
            "--course",
            str(ROOT / "reference" / "course_report.yaml"),
            "--thresholds",
            str(ROOT / "reference" / "thresholds.yaml"),
            "--claims",
            "out/claims.json",
            "--headline",
            "out/headline.json",
        ],
    ),
    "figures": (
        "figures.py",
        [
            *FACTS,
            "--mlp-batch",
            "{none}/mlp_batch.json",
            "{none}/plots/mlp_batch",
            "--mlp-sine",
            "{none}/mlp_sine.json",
            "{none}/plots/mlp_sine",
            "--europe",
            "{europe}/outlines.json",
            "{europe}/test.csv",
            "--faces",
            "{cache}",
            "--grid-metrics",
            "{none}/mlp_grid",
            "--claims",
            "{none}/claims.json",
            "--out",
            "out/figures/",
        ],
    ),
    "report": (
        "report.py",
        [
            *FACTS,
            "--mlp-batch",
            "{none}/mlp_batch.json",
            "{none}/plots/mlp_batch",
            "--mlp-sine",
            "{none}/mlp_sine.json",
            "--claims",
            "{none}/claims.json",
            "--course",
            str(ROOT / "reference" / "course_report.yaml"),
            "--provenance",
            "{none}/provenance",
            "--constraints",
            str(ROOT / "constraints.txt"),
            "--figures",
            "{none}/figures",
            "--markdown",
            "out/report.md",
            "--html",
            "out/report.html",
        ],
    ),
    "timings": ("timings.py", ["--timings", "{none}/timings", "--out", "out/timings.md"]),
}
CSV_HEAD = ",long,lat,country\n"


def csv_case(split: str, text: str | None):
    """Damage for europe.source: csv: a copy of valid user files with `split` replaced (None: deleted)."""

    def damage(case: Path, inputs: Path) -> dict:
        folder = case / "user_csv"
        shutil.copytree(inputs / "europe_csv", folder)
        (folder / f"{split}.csv").unlink()
        if text is not None:
            (folder / f"{split}.csv").write_text(text)
        return {"europe.source": "csv", "europe.csv_dir": str(folder)}

    return damage


def faces_case(damage_folder):
    """Damage for faces.source: folder: a copy of a valid user folder, then `damage_folder(root)`."""

    def damage(case: Path, inputs: Path) -> dict:
        root = case / "user_faces"
        shutil.copytree(inputs / "faces_folder", root)
        damage_folder(root)
        return {"faces.source": "folder", "faces.image_dir": str(root)}

    return damage


def set_to(**changes):
    """Plain parameter changes, dotted keys written with '__' (mlp__depth=0)."""
    return lambda case, inputs: {k.replace("__", "."): v for k, v in changes.items()}


def bad_weights(case: Path, inputs: Path) -> dict:
    torch.save({"conv.weight": torch.zeros(1)}, case / "wrong_keys.pth")
    return {"cnn.weights_path": str(case / "wrong_keys.pth")}


def not_a_checkpoint(case: Path, inputs: Path) -> dict:
    (case / "notes.pth").write_text("not a torch file")
    return {"cnn.weights_path": str(case / "notes.pth")}


def replace_arg(flag: str, value: str):
    return ("args", flag, value)


def _corrupt_cache(folder, inputs) -> None:
    shutil.copytree(inputs / "faces" / "cache", folder)
    (folder / "train.npy").write_bytes(b"garbage")


def _truncated_cache(folder, inputs) -> None:
    import numpy as np

    shutil.copytree(inputs / "faces" / "cache", folder)
    np.save(folder / "train.npy", np.load(folder / "train.npy")[:2])


def _small_png(root: Path, name: str, size) -> None:
    from PIL import Image

    Image.new("RGB", size, (90, 120, 150)).save(root / name)


def csv_points(split: str, change):
    """Damage for europe.source: csv: valid user files with `change(frame)` applied to `split`'s points."""

    def damage(case: Path, inputs: Path) -> dict:
        import pandas as pd

        params = csv_case(split, None)(case, inputs)
        path = Path(params["europe.csv_dir"]) / f"{split}.csv"
        frame = pd.read_csv(inputs / "europe_csv" / f"{split}.csv", index_col=0)
        path.write_text(change(frame).to_csv(float_format="%.6f", lineterminator="\n"))
        return params

    return damage


def _swapped(frame):
    return frame.rename(columns={"long": "lat", "lat": "long"})[["long", "lat", "country"]]


def _in_america(frame):
    return frame.assign(long=frame["long"] - 80)


def _damaged_jpeg(folder: Path) -> None:
    """A JPEG that libjpeg decodes anyway, writing 'Corrupt JPEG data' to stderr: an EOI marker mid-scan."""
    from PIL import Image

    path = folder / "damaged.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(path, quality=90)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 3] = b"\xff\xd9\x00"
    path.write_bytes(data)


def _float_tiff(folder: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((40, 40), dtype=np.float32)).save(folder / "depth.tif")


def relative_csv_dir(case: Path, inputs: Path) -> dict:
    """A relative csv_dir that exists in the repository but not in DVC's temporary copy (the stage's cwd)."""
    shutil.copytree(inputs / "europe_csv", case / "my_points")
    return {"europe.source": "csv", "europe.csv_dir": "my_points"}


def disk_full(monkeypatch) -> None:
    """Every text write fails as on a full disk (ENOSPC), after the file was opened."""

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)


def not_writable(folder: str):
    """os.access says `folder` (under the case) is not writable, as for a user without permission: root (tests in
    containers) may write anywhere."""

    def patch(monkeypatch) -> None:
        real = os.access
        monkeypatch.setattr(
            os,
            "access",
            lambda path, mode, **kw: (not Path(path).absolute().as_posix().endswith(folder)) and real(path, mode, **kw),
        )

    return patch


# (case id, stage, damage -> params changes, expected text in the error line, extra: env or argument override)
# One case a line: the table reads as a table.
# fmt: off
CASES = [
    # params.yaml itself, and the shared keys and environment every stage reads
    ("params-not-yaml", "prepare_europe", "params.yaml: [unclosed", "params.yaml is not valid YAML", None),
    ("params-missing-seed", "mlp_long", set_to(replicates__first=None), "params.yaml has no 'replicates.first'",
     None),
    ("seed-negative", "prepare_faces", set_to(data_seed=-1), "data_seed must be an integer >= 0", None),
    ("device-unknown", "mlp_grid", set_to(device="gpu"), "device must be one of auto, cpu, cuda", None),
    ("device-cuda-without-gpu", "cnn_scratch", set_to(device="cuda"), "no CUDA GPU is visible", None),
    ("threads-not-a-number", "xgboost", set_to(), "NNREPRO_THREADS must be a positive integer",
     {"NNREPRO_THREADS": "two"}),
    ("threads-zero", "probe_features", set_to(), "NNREPRO_THREADS must be a positive integer",
     {"NNREPRO_THREADS": "0"}),
    # issue 2: the Europe data, embedded or the user's CSV files
    ("europe-source-unknown", "prepare_europe", set_to(europe__source="shapefile"),
     "europe.source must be one of embedded, csv", None),
    ("europe-split-too-small", "prepare_europe", set_to(europe__n_test=5), "europe.n_test must be an integer >= 33",
     None),
    ("europe-csv-dir-missing", "prepare_europe", set_to(europe__source="csv", europe__csv_dir="/nonexistent"),
     "europe.csv_dir '/nonexistent' is not a folder", None),
    ("csv-file-missing", "prepare_europe", csv_case("test", None), "test.csv not found", None),
    ("csv-column-missing", "prepare_europe", csv_case("train", ",long,lat\n0,2.3,48.8\n"),
     "train.csv: missing column 'country'", None),
    ("csv-column-extra", "prepare_europe", csv_case("validation", ",long,lat,country,x\n0,2.3,48.8,11,1\n"),
     "validation.csv: unexpected column 'x'", None),
    ("csv-not-a-number", "prepare_europe", csv_case("test", CSV_HEAD + "0,abc,48.8,11\n"),
     "line 2, column 'long': 'abc' is not a finite number", None),
    ("csv-nan", "prepare_europe", csv_case("test", CSV_HEAD + "0,2.3,48.8,11\n1,2.3,nan,11\n"),
     "line 3, column 'lat': 'nan' is not a finite number", None),
    ("csv-infinite", "prepare_europe", csv_case("test", CSV_HEAD + "0,inf,48.8,11\n"),
     "'inf' is not a finite number", None),
    ("csv-off-the-globe", "prepare_europe", csv_case("test", CSV_HEAD + "0,2.3,95.0,11\n"), "outside the globe",
     None),
    ("csv-label-text", "prepare_europe", csv_case("test", CSV_HEAD + "0,2.3,48.8,France\n"),
     "'France' is not an integer label", None),
    ("csv-label-fraction", "prepare_europe", csv_case("test", CSV_HEAD + "0,2.3,48.8,11.5\n"),
     "'11.5' is not an integer label", None),
    ("csv-label-out-of-range", "prepare_europe", csv_case("test", CSV_HEAD + "0,2.3,48.8,33\n"),
     "label 33 is outside 0..32", None),
    ("csv-class-absent-from-train", "prepare_europe", csv_case("train", CSV_HEAD + "0,2.3,48.8,11\n"),
     "train.csv has no point of class", None),
    ("csv-split-empty", "prepare_europe", csv_case("validation", CSV_HEAD), "validation.csv has no rows", None),
    ("csv-file-empty", "prepare_europe", csv_case("validation", ""), "validation.csv cannot be parsed", None),
    # issue 3: the MLP stages' hyper-parameters and inputs
    ("lr-negative", "mlp_long", set_to(lr=-0.1), "lr must be a positive number", None),
    ("lr-zero", "mlp_sine", set_to(lr=0), "lr must be a positive number", None),
    ("lr-not-a-number", "mlp_grid", set_to(lr="fast"), "lr must be a positive number", None),
    ("lr-sweep-negative", "mlp_lr", set_to(mlp_lr__lrs=[0.01, -1]), "mlp_lr.lrs must be a positive number", None),
    ("seeds-zero", "mlp_long", set_to(replicates__mlp=0), "replicates.mlp must be an integer >= 1", None),
    ("lr-negative-grad-probe", "grad_probe", set_to(lr=-1), "lr must be a positive number", None),
    ("batch-size-zero", "mlp_long", set_to(mlp__batch_size=0), "mlp.batch_size must be an integer >= 1", None),
    ("batch-size-zero-grad-probe", "grad_probe", set_to(grad_probe__batch_size=0),
     "grad_probe.batch_size must be an integer >= 1", None),
    ("batch-pair-size-zero", "mlp_batch", set_to(mlp_batch__pairs=[[0, 1]]),
     "mlp_batch.pairs batch size must be an integer >= 1", None),
    ("batch-pair-malformed", "mlp_batch", set_to(mlp_batch__pairs=[[16]]),
     "mlp_batch.pairs must be a list of [batch size, epochs] pairs", None),
    ("batch-pairs-empty", "mlp_batch", set_to(mlp_batch__pairs=[]), "mlp_batch.pairs must be a non-empty list",
     None),
    ("first-epoch-evals-zero", "mlp_batch", set_to(mlp_batch__first_epoch_evals=0),
     "mlp_batch.first_epoch_evals must be an integer >= 1", None),
    ("probe-seeds-zero", "grad_probe", set_to(replicates__grad_probe=0),
     "replicates.grad_probe must be an integer >= 1", None),
    ("select-from-unknown", "evaluate", set_to(evaluate__select_from="best"),
     "evaluate.select_from must be one of course, grid", None),
    ("depth-zero", "mlp_long", set_to(mlp__depth=0), "mlp.depth must be an integer >= 1", None),
    ("width-zero", "mlp_lr", set_to(mlp__width=0), "mlp.width must be an integer >= 1", None),
    ("grid-depth-zero", "mlp_grid", set_to(mlp_grid__depths=[1, 0]), "mlp_grid.depths must be an integer >= 1",
     None),
    ("grid-widths-empty", "mlp_grid", set_to(mlp_grid__widths=[]), "mlp_grid.widths must be a non-empty list", None),
    ("grad-probe-depth-zero", "grad_probe", set_to(grad_probe__depth=0), "grad_probe.depth must be an integer >= 1",
     None),
    ("features-unknown", "mlp_long", set_to(mlp__features="polar"), "mlp.features must be one of xy, sine", None),
    ("epochs-zero", "mlp_grid", set_to(mlp__epochs=0), "mlp.epochs must be an integer >= 1", None),
    ("long-epochs-zero", "mlp_long", set_to(mlp_long__epochs=0), "mlp_long.epochs must be an integer >= 1", None),
    ("probe-layers-empty", "grad_probe", set_to(grad_probe__layers=[]),
     "grad_probe.layers must be a non-empty list", None),
    ("probe-layer-outside", "grad_probe", set_to(grad_probe__layers=[0, 40]), "grad_probe.layers has 40, outside",
     None),
    ("mesh-too-small", "evaluate", set_to(evaluate__mesh=1), "evaluate.mesh must be an integer >= 2", None),
    ("europe-data-missing", "mlp_lr", set_to(), "train.csv not found", replace_arg("--data", "nowhere")),
    # issue 4: the faces data, pretrained weights and the CNN/XGBoost stages
    ("faces-source-unknown", "prepare_faces", set_to(faces__source="web"), "faces.source must be one of", None),
    ("faces-image-size-tiny", "prepare_faces", set_to(faces__image_size=4),
     "faces.image_size must be an integer >= 8", None),
    ("faces-dir-missing", "prepare_faces", set_to(faces__source="folder", faces__image_dir="/nonexistent"),
     "faces.image_dir '/nonexistent' is not a folder", None),
    ("faces-split-missing", "prepare_faces", faces_case(lambda r: shutil.rmtree(r / "val")),
     "val/0_real is missing", None),
    ("faces-class-missing", "prepare_faces", faces_case(lambda r: shutil.rmtree(r / "test" / "1_fake")),
     "test/1_fake is missing", None),
    ("faces-class-empty", "prepare_faces",
     faces_case(lambda r: [p.unlink() for p in (r / "train" / "0_real").iterdir()]),
     "train/0_real holds no images", None),
    ("faces-not-an-image", "prepare_faces",
     faces_case(lambda r: (r / "train" / "1_fake" / "notes.jpg").write_text("not an image")),
     "notes.jpg cannot be read as an image", None),
    ("faces-truncated-image", "prepare_faces",
     faces_case(lambda r: (r / "val" / "1_fake" / "a.png").write_bytes((r / "val" / "1_fake" / "a.png")
                                                                         .read_bytes()[:60])),
     "a.png cannot be read as an image", None),
    ("faces-image-smaller-than-crop", "prepare_faces",
     faces_case(lambda r: _small_png(r / "test" / "0_real", "small.png", (40, 8))),
     "small.png is 40x8 px, smaller than the 32 px crop", None),
    ("cache-missing", "xgboost", set_to(), "nowhere/cache not found", replace_arg("--data", "nowhere/cache")),
    ("cache-missing-cnn", "cnn_scratch", set_to(), "nowhere/cache not found", replace_arg("--data", "nowhere/cache")),
    ("cache-corrupt", "xgboost", lambda case, inputs: _corrupt_cache(case / "corrupt", inputs) or {},
     "corrupt cannot be read as an image cache", replace_arg("--data", "corrupt")),
    ("cache-truncated", "cnn_scratch", lambda case, inputs: _truncated_cache(case / "short", inputs) or {},
     "short/train.npy does not match", replace_arg("--data", "short")),
    ("probe-features-missing", "cnn_probe", set_to(), "probe.pt not found", replace_arg("--data", "nowhere/probe.pt")),
    ("arch-unknown", "cnn_scratch", set_to(cnn__arch="vgg16"), "cnn.arch must be one of", None),
    ("cnn-epochs-zero", "cnn_finetune", set_to(cnn__epochs=0), "cnn.epochs must be an integer >= 1", None),
    ("cnn-batch-size-zero", "cnn_probe", set_to(cnn__batch_size=0), "cnn.batch_size must be an integer >= 1", None),
    ("cnn-lr-negative", "cnn_scratch", set_to(cnn__lrs=[0.01, -0.1]), "cnn.lrs must be a positive number", None),
    ("xgboost-results-missing", "cnn_evaluate", set_to(), "nowhere.json",
     replace_arg("--xgboost", "nowhere.json")),
    ("xgboost-crop-zero", "xgboost", set_to(xgboost__crop=0), "xgboost.crop must be an integer >= 1", None),
    ("weights-path-not-a-file", "probe_features", set_to(cnn__weights_path="/nonexistent.pth"),
     "cnn.weights_path '/nonexistent.pth' is not a file", None),
    ("weights-wrong-keys", "cnn_finetune", bad_weights, "wrong_keys.pth", None),
    ("weights-wrong-keys-probe", "probe_features", bad_weights, "wrong_keys.pth", None),
    ("weights-not-a-checkpoint", "cnn_finetune", not_a_checkpoint, "notes.pth is not a torchvision", None),
    ("download-flag-quoted", "probe_features", set_to(cnn__arch="resnet18", cnn__allow_download="false"),
     "cnn.allow_download must be true or false (unquoted)", {"TORCH_HOME": "{case}/torch_home"}),
    # issue 5: the figures and the report, which only read earlier stages' results
    ("figures-dpi-too-low", "figures", set_to(figures__dpi=5), "figures.dpi must be an integer >= 20", None),
    ("figures-results-missing", "figures", set_to(), "mlp_lr", None),
    ("report-results-missing", "report", set_to(), "mlp_lr", None),
    ("claims-results-missing", "claims", set_to(), "mlp_lr", None),
    ("timings-missing", "timings", set_to(), "timings is missing: run `dvc repro`", None),
    ("weights-not-offline", "probe_features", set_to(cnn__arch="resnet18"), "resnet18-f37072fd.pth",
     {"TORCH_HOME": "{case}/torch_home"}),
    # issue 33: your data, your folder, params nothing reads, faults of the machine
    ("params-unknown-key", "mlp_long", set_to(mlp_long__epoch=5),
     "params.yaml has 'mlp_long.epoch', which no stage reads: did you mean 'mlp_long.epochs'?", None),
    ("params-unknown-section", "prepare_faces", set_to(face={"image_size": 8}), "did you mean 'faces.image_size'?",
     None),
    ("csv-long-lat-swapped", "prepare_europe", csv_points("validation", _swapped),
     "points lie outside the Europe box (long -11..41, lat 34..72): swap the 'long' and 'lat' values", None),
    ("csv-outside-europe", "prepare_europe", csv_points("train", _in_america),
     "330 of 330 points lie outside the Europe box", None),
    ("csv-dir-relative-under-temp", "prepare_europe", relative_csv_dir,
     "a relative folder is read inside DVC's temporary copy", ("cwd", ".dvc/tmp/exps/tmp1234")),
    ("faces-extra-class-folder", "prepare_faces", faces_case(lambda r: (r / "train" / "2_other").mkdir()),
     "train/2_other/ is outside the course layout", None),
    ("faces-sub-folder", "prepare_faces", faces_case(lambda r: (r / "val" / "1_fake" / "more").mkdir()),
     "val/1_fake/more/ is outside the course layout", None),
    ("faces-broken-link", "prepare_faces",
     faces_case(lambda r: (r / "test" / "0_real" / "c.png").symlink_to(r / "nowhere.png")),
     "c.png is a broken link", None),
    ("faces-damaged-jpeg", "prepare_faces", faces_case(lambda r: _damaged_jpeg(r / "train" / "1_fake")),
     "damaged.jpg is damaged (libjpeg: Corrupt JPEG data", None),
    ("faces-float-pixels", "prepare_faces", faces_case(lambda r: _float_tiff(r / "val" / "0_real")),
     "depth.tif has floating-point pixels", None),
    ("disk-full", "prepare_europe", set_to(), "out/europe/train.csv: No space left on device: free disk space",
     ("patch", disk_full)),
    ("output-folder-not-writable", "mlp_long", set_to(), "out/metrics.json cannot be written: out is not writable",
     ("patch", not_writable("/out"))),
    ("output-folder-is-a-file", "grad_probe", lambda case, inputs: (case / "in_the_way").write_text("a file") and {},
     "in_the_way/m cannot be written: in_the_way is a file, not a folder", ("args", "--models", "in_the_way/m")),
]
# fmt: on


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Valid inputs every case starts from: Europe CSVs, a grid cell, a faces cache and folder, CNN results."""
    from nnrepro import cells, io
    from nnrepro.europe import points
    from nnrepro.faces import images, predictions

    root = tmp_path_factory.mktemp("inputs")
    params = tiny_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    for split, text in points.split_files(Params(params), 0).items():
        io.write_text(root / "europe" / f"{split}.csv", text)
        io.write_text(root / "europe_csv" / f"{split}.csv", text)
    io.write_json(root / "europe" / "countries.json", points.countries_table())
    io.write_json(root / "europe" / "outlines.json", points.outlines())
    (root / "grid" / "metrics").mkdir(parents=True)  # no cell trained: evaluate's errors come first
    data = images.generate({"train": 4, "validation": 4, "test": 4}, 32, 0)
    images.write(root / "faces", data)
    folder = root / "faces_folder"
    for split in images.FOLDERS.values():
        for cls in images.CLASSES:
            (folder / split / cls).mkdir(parents=True)
            for name in ("a.png", "b.png"):
                _small_png(folder / split / cls, name, (48, 40))
    torch.save(
        {
            s: {"inputs": torch.zeros(len(d["labels"]), 8), "labels": d["labels"], "names": d["names"]}
            for s, d in data.items()
        },
        root / "probe.pt",
    )
    for baseline in cells.CNN_BASELINES:  # one trained-looking cell each, at lr 0.01
        name = cells.cnn_cell(baseline, 0.01)
        record = {"baseline": baseline, "lr": 0.01, "validation_acc": 0.5, "test_acc": 0.5}
        io.write_json(root / "cnn" / "metrics" / baseline / f"{name}.json", record)
        frame = predictions.frame(data, {s: [0.4] * len(data[s]["labels"]) for s in predictions.SCORED})
        io.write_csv(root / "cnn" / "predictions" / baseline / f"{name}.csv", frame)
    return root, params


def _plant(case: Path, args: list[str]) -> dict[str, bytes]:
    """Write a previous output at every output path in `args` (out/...); return the folder's files."""
    for arg in args:
        if arg.startswith("out/"):
            target = case / (arg + "previous.bin" if arg.endswith("/") else arg)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(PREVIOUS)
    return _files(case / "out")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _set(params: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        params = params[key]
    if value is None:
        del params[last]
    else:
        params[last] = value


def prepare_case(stage: str, damage, extra, inputs_root: Path, base: dict, case: Path):
    """The case folder with its params.yaml and planted outputs; (script, args, env, cwd, planted files)."""
    script, args = STAGES[stage]
    values = {
        "in": str(inputs_root),
        "europe": str(inputs_root / "europe"),
        "cache": str(inputs_root / "faces" / "cache"),
        "case": str(case),
        "none": str(inputs_root / "not_run"),
    }
    args = [a.format(**values) for a in args]
    env, cwd = {"NNREPRO_THREADS": "1"}, case
    if isinstance(extra, tuple) and extra[0] == "args":  # ("args", flag, value): replace one argument's value
        args[args.index(extra[1]) + 1] = extra[2]
    elif isinstance(extra, tuple) and extra[0] == "cwd":  # ("cwd", folder): run in this folder of the case
        cwd = case / extra[1]
    elif isinstance(extra, dict):
        env.update({k: v.format(**values) for k, v in extra.items()})
    cwd.mkdir(parents=True, exist_ok=True)
    before = _plant(cwd, args)
    if isinstance(damage, str):  # "params.yaml: <raw text>"
        (cwd / "params.yaml").write_text(damage.split(": ", 1)[1])
    else:
        params = yaml.safe_load(yaml.safe_dump(base))
        for key, value in damage(case, inputs_root).items():
            _set(params, key, value)
        (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    return script, args, env, cwd, before


_MAINS: dict = {}


def stage_main(script: str):
    """The `main` of stages/<script>, its module loaded once."""
    if script not in _MAINS:
        spec = importlib.util.spec_from_file_location(f"stage_{Path(script).stem}", ROOT / "stages" / script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MAINS[script] = module.main
    return _MAINS[script]


def run_in_process(script, args, env, cwd, monkeypatch, capsys, patch=None) -> tuple[int, str]:
    """(exit status, stderr) of the stage's main called as `python stages/<script> args` would call it."""
    main = stage_main(script)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", [script, *map(str, args)])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if patch:
        patch(monkeypatch)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main()
    monkeypatch.undo()
    return stopped.value.code, capsys.readouterr().err


def test_every_stage_is_in_the_table():
    assert {stage for _, stage, *_ in CASES} == set(STAGES)
    dvc_stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert set(STAGES) == set(dvc_stages), "a stage was added to dvc.yaml: give it rows in this table"


def _check(status: int, stderr: str, expected: str, before: dict, cwd: Path) -> None:
    assert status not in (0, None), f"the stage accepted the bad input\n{stderr[-2000:]}"
    assert "Traceback" not in stderr, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and expected in last, stderr[-2000:]
    assert _files(cwd / "out") == before, "earlier outputs were changed, removed or joined by new files"


@pytest.mark.parametrize("case_id, stage, damage, expected, extra", CASES, ids=[c[0] for c in CASES])
def test_bad_input_stops_with_one_line_and_keeps_outputs(
    inputs, tmp_path, monkeypatch, capsys, case_id, stage, damage, expected, extra
):
    if case_id == "device-cuda-without-gpu" and torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    root, base = inputs
    patch = extra[1] if isinstance(extra, tuple) and extra[0] == "patch" else None
    script, args, env, cwd, before = prepare_case(stage, damage, None if patch else extra, root, base, tmp_path)
    status, stderr = run_in_process(script, args, env, cwd, monkeypatch, capsys, patch)
    _check(status, stderr, expected, before, cwd)


# Run as the real process too: what a user sees (exit status, stderr), for a params file, a CSV, an image folder, a
# training stage and a reporting stage.
END_TO_END = ["params-not-yaml", "csv-long-lat-swapped", "faces-damaged-jpeg", "lr-negative", "figures-results-missing"]


@pytest.mark.parametrize("case_id", END_TO_END)
def test_end_to_end_one_line_exit_2_and_intact_outputs(inputs, tmp_path, case_id):
    _, stage, damage, expected, extra = next(c for c in CASES if c[0] == case_id)
    root, base = inputs
    script, args, env, cwd, before = prepare_case(stage, damage, extra, root, base, tmp_path)
    result = run_stage(script, args, cwd, None, env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr[-3000:]
    _check(result.returncode, result.stderr, expected, before, cwd)


def test_another_python_than_the_venv_gets_one_line(tmp_path):
    """`.venv/bin/dvc repro` without the venv on PATH runs the stages with another Python, without the project's
    packages: here the same interpreter without site-packages and PYTHONPATH (-S -E)."""
    for script in ("prepare_europe.py", "prepare_faces.py"):
        result = subprocess.run(
            [sys.executable, "-S", "-E", str(ROOT / "stages" / script), "--out", "out"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1 and not (tmp_path / "out").exists()
        assert result.stderr.strip().splitlines() == [
            (
                f"error: nnrepro is not installed for {sys.executable}: activate the project's environment "
                "(`. .venv/bin/activate`) and rerun"
            )
        ]


def test_a_full_disk_stops_with_one_line_naming_the_file(inputs, tmp_path):
    """A real full file system (a 64 KiB tmpfs, mounted in a user namespace), where one is allowed."""
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("no user namespaces here: the in-process disk-full case covers the message")
    _, base = inputs
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "full").mkdir()
    inner = (
        f"mount -t tmpfs -o size=64k tmpfs full && exec {sys.executable} {ROOT / 'stages' / 'prepare_faces.py'} "
        "--out full/faces"
    )
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", inner],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NNREPRO_THREADS": "1"},
        check=False,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith("error: full/faces")
    assert "No space left on device: free disk space and rerun" in result.stderr and "Traceback" not in result.stderr
