"""GPU check: the CNN sweep (scratch, probe, finetune x 5 learning rates) with ResNet18 at 224 px on one CUDA
device, the library's path side by side with the course-style loop of bench/naive.py (ImageFolder + PIL +
DataLoader, fp32). Writes its figures to bench/gpu.json; bench/render.py puts them in RESULTS.md.

On a lent GPU machine, from the repository root, offline (needs only torch, torchvision, numpy and Pillow):
    PYTHONPATH=src python bench/gpu.py      # add --batch 256 to try a larger batch
On a CPU, to check the script (prints, writes nothing):  PYTHONPATH=src python bench/gpu.py --device cpu --smoke
nnrepro.faces.cnn and .images import only torch, torchvision, numpy and Pillow (not dvc, dvclive, xgboost,
pandas or yaml); images.generate's photographs come from scikit-image and matplotlib: where they are not
installed the check renders its images from synthetic textures instead and says so.
"""

import argparse
import dataclasses
import datetime
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))  # the working tree's nnrepro, installed or not
import machine  # noqa: E402
import naive  # noqa: E402

from nnrepro.cells import CNN_BASELINES  # noqa: E402
from nnrepro.errors import UserError  # noqa: E402
from nnrepro.faces import cnn, images  # noqa: E402

SEED = 0
ARCH = "resnet18"  # the course's backbone
EPOCHS = 1  # passes over the training split, params.yaml's cnn.epochs
REFERENCE_LR = 0.0001  # the course-style loop runs one cell per baseline at this lr unless --reference all
PIPELINE_BATCH = 32  # images per Adam step in params.yaml
GOAL_SWEEP_S = 15.0  # s, the whole 15-cell sweep on one H100/H200
GOAL_TRAIN = 10_000  # img/s, training
FULL = {
    "sizes": {"train": 1400, "validation": 200, "test": 400},  # images per split, the course's
    "image_px": 224,  # px, network input side (the course's)
    "generate_px": 64,  # px, side images.generate renders at before the upsampling on the device
    "lrs": [0.1, 0.01, 0.001, 0.0001, 0.00001],  # Adam learning rates, params.yaml's cnn.lrs
}
SMOKE = {"sizes": {"train": 64, "validation": 64, "test": 64}, "image_px": 32, "generate_px": 16, "lrs": [0.001]}
NOT_LOADED = ("dvc", "dvclive", "xgboost", "pandas", "yaml")  # what a bare GPU machine lacks


# ---------------------------------------------------------------- timing

def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device):
    """(seconds, fn()) with the device synchronised on both sides, so queued kernels count."""
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return time.perf_counter() - start, result


# ---------------------------------------------------------------- data and weights

def synthetic_photos() -> list[torch.Tensor]:
    """Stand-ins for images' photographs: float64 [3, 480, 640] textures summed over four scales."""
    rng = np.random.default_rng(SEED)
    photos = []
    for _ in range(8):
        x = sum(F.interpolate(torch.from_numpy(rng.random((1, 3, cells, cells))), size=(480, 640), mode="bicubic",
                              align_corners=False) / 2 ** k for k, cells in enumerate((6, 24, 96, 384)))
        photos.append((x[0] / 1.875).clamp(0, 1))
    return photos


def generated(sizes: dict, px: int) -> tuple[dict, str]:
    """images.generate's images at `px`, and where their source photos came from."""
    try:
        photos, source = images.load_photos(), "source photographs from scikit-image and matplotlib"
    except ImportError:  # a bare GPU machine has no photo packages: the same renderer on textures
        photos, source = synthetic_photos(), "synthetic source textures: scikit-image/matplotlib not installed"
    return images.generate(sizes, px, SEED, photos), source


def upsampled(pixels: torch.Tensor, px: int, device: torch.device) -> torch.Tensor:
    """uint8 [n, 3, s, s] -> uint8 [n, 3, px, px] on the device (bilinear), in chunks of 256."""
    pixels = pixels.to(device)
    if pixels.shape[-1] == px:
        return pixels
    return torch.cat([F.interpolate(chunk.float(), size=(px, px), mode="bilinear", align_corners=False)
                      .round().clamp(0, 255).to(torch.uint8) for chunk in pixels.split(256)])


def weights(path: str, folder: Path) -> tuple[str, str]:
    """A ResNet18 checkpoint found offline, else random weights saved as one; never a download."""
    try:
        found = cnn.resolve_weights(ARCH, path)  # allow_download defaults to never
        return str(found), f"ImageNet weights ({found.name})"
    except UserError:
        if path:
            raise
    from torchvision import models

    torch.manual_seed(SEED)
    saved = folder / "resnet18-random.pth"
    torch.save(models.resnet18(weights=None).state_dict(), saved)
    return str(saved), f"random weights (no {cnn.official_name(ARCH)} found offline)"


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    return float(((probs > 0.5).long() == labels).float().mean())


# ---------------------------------------------------------------- ours: the library's path

def ours_cell(baseline: str, source: dict, settings: cnn.CnnSettings, lr: float, device: torch.device) -> dict:
    """One cell: build, the library's training loop (timed apart), evaluation."""
    build_s, net = timed(lambda: cnn.cell_net(baseline, source, settings, SEED, device), device)
    train_s, _ = timed(lambda: cnn.train_cell(net, baseline, source, settings, lr, SEED, device), device)
    eval_s, probs = timed(lambda: cnn.evaluate_cell(net, baseline, source, settings, device), device)
    return {"baseline": baseline, "lr": lr, "train_s": train_s, "eval_s": eval_s,
            "cell_s": build_s + train_s + eval_s, "test_acc": accuracy(probs["test"], source["test"]["labels"])}


def ours_sweep(data: dict, settings: cnn.CnnSettings, lrs: list, device: torch.device) -> dict:
    """probe_features once, then every (baseline, lr) cell, images on the device."""
    sync(device)
    start = time.perf_counter()
    probe_s, features = timed(lambda: cnn.probe_features(data, settings, device), device)
    cells = [ours_cell(baseline, features if baseline == "probe" else data, settings, lr, device)
             for baseline in CNN_BASELINES for lr in lrs]
    sync(device)
    return {"probe_s": probe_s, "sweep_s": time.perf_counter() - start, "cells": cells}


def streamed(cache_dir: Path, settings: cnn.CnnSettings, lr: float, device: torch.device) -> dict:
    """One finetune cell trained from the memory-mapped cache with a budget too small to hold it: every batch read
    from disk and copied through pinned memory (the path of image sets larger than memory)."""
    cache = images.load_cache(cache_dir)
    tight = dataclasses.replace(settings, memory_mb=1e-6)
    seconds, (net, _) = timed(lambda: cnn.fit_cell("finetune", cache, tight, lr, SEED, device), device)
    probs = cnn.evaluate_cell(net, "finetune", cache, settings, device)
    return {"cell_s": seconds, "test_acc": accuracy(probs["test"], cache["test"]["labels"])}


# ---------------------------------------------------------------- course-style reference: bench/naive.py's cell

def course_cell(folder: Path, baseline: str, lr: float, settings: cnn.CnnSettings, device: torch.device) -> dict:
    """naive.cnn_cell's three steps, its training and evaluation timed apart."""
    sync(device)
    start = time.perf_counter()
    net = naive.cnn_net(baseline, settings, SEED, device)
    train_s, _ = timed(lambda: naive.cnn_train(net, folder, baseline, lr, settings, device), device)
    eval_s, acc = timed(lambda: naive.cnn_accuracy(net, folder, baseline, settings, device), device)
    return {"baseline": baseline, "lr": lr, "train_s": train_s, "eval_s": eval_s,
            "cell_s": time.perf_counter() - start, "test_acc": acc["test"]}


def course_sweep(folder: Path, settings: cnn.CnnSettings, lrs: list, reference: str, device: torch.device) -> dict:
    """Every cell (`all`), or one cell per baseline extrapolated to len(lrs) cells."""
    torch.backends.cudnn.benchmark = False  # course code leaves cuDNN autotuning off (and so does cnn.place)
    one_lr = REFERENCE_LR if REFERENCE_LR in lrs else lrs[0]
    run = lrs if reference == "all" else [one_lr]
    cells = [course_cell(folder, baseline, lr, settings, device) for baseline in CNN_BASELINES for lr in run]
    per_baseline = [np.mean([c["cell_s"] for c in cells if c["baseline"] == b]) for b in CNN_BASELINES]
    return {"cells": cells, "sweep_s": float(sum(per_baseline) * len(lrs)), "extrapolated": len(run) < len(lrs),
            "lr": one_lr}


def warm_up(device: torch.device) -> None:
    """CUDA context, cuBLAS and cuDNN initialised once, before either side is timed."""
    net = cnn.build(ARCH).to(device)
    net(torch.zeros(2, 3, 64, 64, device=device)).sum().backward()
    sync(device)


# ---------------------------------------------------------------- figures

def throughput(cells: list, count: int, key: str) -> float:
    """images per second over the scratch and finetune cells (probe cells train a head on features)."""
    timed_cells = [c for c in cells if c["baseline"] != "probe"]
    return count * len(timed_cells) / sum(c[key] for c in timed_cells)


def cell(cells: list, baseline: str, lr: float) -> dict:
    return next(c for c in cells if c["baseline"] == baseline and c["lr"] == lr)


def figures(ours: dict, course: dict, sizes: dict) -> dict:
    """The side-by-side figures RESULTS.md shows, from both sweeps' cells."""
    sides = {"ours": ours["cells"], "course": course["cells"]}
    train_images, eval_images = sizes["train"] * EPOCHS, sizes["validation"] + sizes["test"]
    ours_ft, course_ft = (cell(cells, "finetune", course["lr"]) for cells in sides.values())
    return {
        "train_img_s": {side: throughput(cells, train_images, "train_s") for side, cells in sides.items()},
        "eval_img_s": {side: throughput(cells, eval_images, "eval_s") for side, cells in sides.items()},
        "probe_s": ours["probe_s"],
        "finetune_cell": {"lr": course["lr"], "ours_s": ours_ft["cell_s"], "course_s": course_ft["cell_s"],
                          "ours_test_acc": ours_ft["test_acc"], "course_test_acc": course_ft["test_acc"]},
        "streamed_cell": ours["streamed"],
        "sweep_s": {"ours": ours["sweep_s"], "course": course["sweep_s"],
                    "course_extrapolated": course["extrapolated"]},
    }


def goals(found: dict, judged: bool) -> dict:
    """Each GPU goal and whether met; None where a run cannot judge it (smoke, or not CUDA)."""
    sweep, train = found["sweep_s"]["ours"], found["train_img_s"]["ours"]
    return {"sweep_s": {"goal": f"<= {GOAL_SWEEP_S:.0f} s", "met": sweep <= GOAL_SWEEP_S if judged else None},
            "train_img_s": {"goal": f">= {GOAL_TRAIN:,} img/s", "met": train >= GOAL_TRAIN if judged else None}}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


# ---------------------------------------------------------------- main

def run(args, device: torch.device, folder: Path) -> dict:
    """Both sweeps and the streamed cell; gpu.json's content."""
    import torchvision

    cfg = {**(SMOKE if args.smoke else FULL), **({"generate_px": args.generate_px} if args.generate_px else {})}
    generate_s, (data, source) = timed(lambda: generated(cfg["sizes"], cfg["generate_px"]), device)
    for split in data.values():
        split["images"] = upsampled(split["images"], cfg["image_px"], device)  # on the device once, as uint8
    host = {name: {**split, "images": split["images"].cpu()} for name, split in data.items()}
    png_s, _ = timed(lambda: images.write(folder / "faces", host), device)
    weights_path, weights_label = weights(args.weights, folder)
    settings = cnn.CnnSettings(arch=ARCH, epochs=EPOCHS, batch_size=args.batch, image_size=cfg["image_px"],
                               weights_path=weights_path)
    torch.manual_seed(SEED)
    warm_up(device)
    course = course_sweep(folder / "faces", settings, cfg["lrs"], args.reference, device)
    ours = ours_sweep(data, settings, cfg["lrs"], device)
    ours["streamed"] = streamed(folder / "faces" / images.CACHE, settings, course["lr"], device)
    found = figures(ours, course, cfg["sizes"])
    return {"date": datetime.date.today().isoformat(), "device": device_name(device), "smoke": args.smoke,
            "command": " ".join(["python bench/gpu.py", *sys.argv[1:]]),
            "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
            "arch": ARCH, "weights": weights_label, "images": source, **cfg, "batch": args.batch, "epochs": EPOCHS,
            "generate_s": generate_s, "png_s": png_s, **found,
            "goals": goals(found, judged=device.type == "cuda" and not args.smoke),
            "cells": {"ours": ours["cells"], "course": course["cells"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--smoke", action="store_true", help="tiny: 64 images per split, 32 px, one lr; writes nothing")
    parser.add_argument("--batch", type=int, default=PIPELINE_BATCH, help="images per Adam step (pipeline: 32)")
    parser.add_argument("--reference", choices=["one", "all"], default="one",
                        help="course-style cells: one per baseline (extrapolated) or all")
    parser.add_argument("--generate-px", type=int,
                        help="px images.generate renders at (default 64; 224: no upsampling)")
    parser.add_argument("--weights", default="", help="a ResNet18 ImageNet checkpoint file (default: found offline)")
    parser.add_argument("--out", type=Path, default=BENCH / "gpu.json", help="the figures' file (not with --smoke)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("error: no CUDA device: run on a GPU machine (or --device cpu --smoke to check the script)")
    try:
        with tempfile.TemporaryDirectory(prefix="nnrepro-gpu-") as scratch:
            found = run(args, device, Path(scratch))
    except UserError as err:
        sys.exit(f"error: {err}")
    found["loaded_extras"] = [name for name in NOT_LOADED if name in sys.modules]  # should be none
    machine.write_with_findings(found, args.out, write=not args.smoke)


if __name__ == "__main__":
    main()
