"""GPU check: the CNN sweep (scratch, probe, finetune x 5 learning rates) with ResNet18 at 224 px on one CUDA
device, the library's path side by side with a course-style loop (ImageFolder + PIL + DataLoader, fp32).

On a lent GPU machine, from the repository root, offline (needs only torch, torchvision, numpy and Pillow):
    PYTHONPATH=src python bench/gpu.py --out bench/gpu.md      # add --batch 256 to try a larger batch
On a CPU, to check the script:  PYTHONPATH=src python bench/gpu.py --device cpu --smoke
nnrepro.cnn and nnrepro.faces import only torch, torchvision, numpy and Pillow (not dvc, dvclive, xgboost,
pandas or yaml); faces.generate's photographs come from scikit-image and matplotlib: where they are not
installed the check renders its images from synthetic textures instead and says so.
"""

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the working tree's nnrepro, installed or not
from nnrepro.errors import UserError  # noqa: E402
from nnrepro.faces import cnn, images  # noqa: E402

SEED = 0
ARCH = "resnet18"  # the course's backbone
REFERENCE_LR = 0.0001  # the course-style loop runs one cell per baseline at this lr unless --reference all
PIPELINE_BATCH = 32  # images per Adam step in params.yaml
GOAL_SWEEP_S = 15.0  # s, the whole 15-cell sweep on one H100/H200
GOAL_TRAIN = 10_000  # img/s, training
FULL = {
    "sizes": {"train": 1400, "validation": 200, "test": 400},  # images per split, the course's
    "image_px": 224,  # px, network input side (the course's)
    "generate_px": 64,  # px, side faces.generate renders at before the upsampling on the device
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
    """Stand-ins for faces' photographs: float64 [3, 480, 640] textures summed over four scales."""
    rng = np.random.default_rng(SEED)
    photos = []
    for _ in range(8):
        x = sum(F.interpolate(torch.from_numpy(rng.random((1, 3, cells, cells))), size=(480, 640), mode="bicubic",
                              align_corners=False) / 2 ** k for k, cells in enumerate((6, 24, 96, 384)))
        photos.append((x[0] / 1.875).clamp(0, 1))
    return photos


def generated(sizes: dict, px: int) -> tuple[dict, str]:
    """faces.generate's images at `px`, and where their source photos came from."""
    try:
        return images.generate(sizes, px, SEED), "source photographs from scikit-image and matplotlib"
    except ImportError:
        images.load_photos = synthetic_photos  # a bare GPU machine has no photo packages: the same renderer on textures
        return images.generate(sizes, px, SEED), "synthetic source textures: scikit-image/matplotlib not installed"


def upsampled(images: torch.Tensor, px: int, device: torch.device) -> torch.Tensor:
    """uint8 [n, 3, s, s] -> uint8 [n, 3, px, px] on the device (bilinear), in chunks of 256."""
    images = images.to(device)
    if images.shape[-1] == px:
        return images
    return torch.cat([F.interpolate(chunk.float(), size=(px, px), mode="bilinear", align_corners=False)
                      .round().clamp(0, 255).to(torch.uint8) for chunk in images.split(256)])


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

def ours_cell(baseline: str, source: dict, s: dict, lr: float, device: torch.device, loops: list) -> dict:
    fit_s, (net, _) = timed(lambda: cnn.fit_cell(baseline, source, s, lr, SEED, device), device)
    eval_s, probs = timed(lambda: cnn.evaluate_cell(net, baseline, source, s, device), device)
    return {"baseline": baseline, "lr": lr, "train_s": loops.pop(), "eval_s": eval_s, "cell_s": fit_s + eval_s,
            "test_acc": accuracy(probs["test"], source["test"]["labels"])}


def ours_sweep(data: dict, s: dict, lrs: list, device: torch.device) -> dict:
    """probe_features once, then fit_cell + evaluate_cell for every (baseline, lr), images on the device."""
    library_train, loops = cnn.train, []

    def timed_train(*args, **kwargs):  # the library's own loop inside fit_cell, timed apart from the model build
        seconds, history = timed(lambda: library_train(*args, **kwargs), device)
        loops.append(seconds)
        return history

    cnn.train = timed_train
    try:
        sync(device)
        start = time.perf_counter()
        probe_s, features = timed(lambda: cnn.probe_features(data, s, device), device)
        cells = [ours_cell(baseline, features if baseline == "probe" else data, s, lr, device, loops)
                 for baseline in cnn.BASELINES for lr in lrs]
        sync(device)
        return {"probe_s": probe_s, "sweep_s": time.perf_counter() - start, "cells": cells}
    finally:
        cnn.train = library_train


def streamed(cache_dir: Path, s: dict, lr: float, device: torch.device) -> dict:
    """One finetune cell trained from the memory-mapped cache with a budget too small to hold it: every batch read
    from disk and copied through pinned memory (the path of image sets larger than memory)."""
    cache = images.load_cache(cache_dir)
    seconds, (net, _) = timed(lambda: cnn.fit_cell("finetune", cache, {**s, "memory_mb": 1e-6}, lr, SEED, device),
                              device)
    probs = cnn.evaluate_cell(net, "finetune", cache, s, device)
    return {"cell_s": seconds, "test_acc": accuracy(probs["test"], cache["test"]["labels"])}


# ---------------------------------------------------------------- course-style reference

def image_folder(root: Path, px: int, normalise: bool):
    from torchvision import datasets, transforms

    steps = [transforms.Resize((px, px)), transforms.ToTensor()]
    if normalise:
        steps.append(transforms.Normalize(cnn.MEAN, cnn.STD))
    return datasets.ImageFolder(root, transform=transforms.Compose(steps))


def course_train(net, loader, optimizer, epochs: int, frozen_body: bool, device: torch.device) -> None:
    net.train()
    if frozen_body:
        net[0].eval()
    for _ in range(epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(net(xb).flatten(), yb.float())
            loss.backward()
            optimizer.step()
            loss.item()


def course_accuracy(net, folder: Path, px: int, normalise: bool, device: torch.device) -> dict:
    from torch.utils.data import DataLoader

    net.eval()
    accuracies = {}
    for split in ("val", "test"):
        correct, count = 0, 0
        with torch.no_grad():
            for xb, yb in DataLoader(image_folder(folder / split, px, normalise), batch_size=64):
                correct += ((net(xb.to(device)).flatten() > 0).long().cpu() == yb).sum().item()
                count += len(yb)
        accuracies[split] = correct / count
    return accuracies


def course_cell(folder: Path, baseline: str, lr: float, s: dict, device: torch.device) -> dict:
    """One cell as course code writes it: ImageFolder + PIL transforms + DataLoader, fp32, .item() per batch."""
    from torch.utils.data import DataLoader

    sync(device)
    start = time.perf_counter()
    torch.manual_seed(SEED)
    px, normalise = s["image_size"], baseline != "scratch"
    net = cnn.build(s["arch"]) if baseline == "scratch" else cnn.pretrained(s)
    if baseline == "probe":
        cnn.freeze(net[0])
    net = net.to(device)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    loader = DataLoader(image_folder(folder / "train", px, normalise), batch_size=s["batch_size"], shuffle=True)
    train_s, _ = timed(lambda: course_train(net, loader, optimizer, s["epochs"], baseline == "probe", device), device)
    eval_s, acc = timed(lambda: course_accuracy(net, folder, px, normalise, device), device)
    return {"baseline": baseline, "lr": lr, "train_s": train_s, "eval_s": eval_s,
            "cell_s": time.perf_counter() - start, "test_acc": acc["test"]}


def course_sweep(folder: Path, s: dict, lrs: list, reference: str, device: torch.device) -> dict:
    """Every cell (`all`), or one cell per baseline extrapolated to len(lrs) cells."""
    torch.backends.cudnn.benchmark = False  # course code leaves cuDNN autotuning off (and so does cnn.place)
    one_lr = REFERENCE_LR if REFERENCE_LR in lrs else lrs[0]
    run = lrs if reference == "all" else [one_lr]
    cells = [course_cell(folder, baseline, lr, s, device) for baseline in cnn.BASELINES for lr in run]
    per_baseline = [np.mean([c["cell_s"] for c in cells if c["baseline"] == b]) for b in cnn.BASELINES]
    return {"cells": cells, "sweep_s": float(sum(per_baseline) * len(lrs)), "extrapolated": len(run) < len(lrs),
            "lr": one_lr}


def warm_up(device: torch.device) -> None:
    """CUDA context, cuBLAS and cuDNN initialised once, before either side is timed."""
    net = cnn.build(ARCH).to(device)
    net(torch.zeros(2, 3, 64, 64, device=device)).sum().backward()
    sync(device)


# ---------------------------------------------------------------- report

def throughput(cells: list, images: int, key: str) -> float:
    """images per second over the scratch and finetune cells (probe cells train a head on features)."""
    timed_cells = [c for c in cells if c["baseline"] != "probe"]
    return images * len(timed_cells) / sum(c[key] for c in timed_cells)


def cell(cells: list, baseline: str, lr: float) -> dict:
    return next(c for c in cells if c["baseline"] == baseline and c["lr"] == lr)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def report(ours: dict, course: dict, facts: dict, cfg: dict, args, device: torch.device) -> str:
    sizes, lrs, epochs, batch = cfg["sizes"], cfg["lrs"], 1, args.batch
    n_cells, n_all = len(cnn.BASELINES) * len(lrs), sum(sizes.values())
    train_images, eval_images = sizes["train"] * epochs, sizes["validation"] + sizes["test"]
    sides = {"ours": ours["cells"], "course": course["cells"]}
    train_rate = {side: throughput(cells, train_images, "train_s") for side, cells in sides.items()}
    eval_rate = {side: throughput(cells, eval_images, "eval_s") for side, cells in sides.items()}
    lr = course["lr"]
    ours_ft, course_ft = cell(ours["cells"], "finetune", lr), cell(course["cells"], "finetune", lr)
    swept = (f"{course['sweep_s']:.1f} (extrapolated: 1 cell per baseline measured, x {len(lrs)} lrs)"
             if course["extrapolated"] else f"{course['sweep_s']:.1f}")
    generated_at = (f"generated at {cfg['generate_px']} px by faces.generate and upsampled to {cfg['image_px']} px "
                    "on the device (bilinear)" if cfg["generate_px"] != cfg["image_px"]
                    else f"generated at {cfg['image_px']} px by faces.generate")
    batch_note = ("the pipeline's" if batch == PIPELINE_BATCH
                  else f"--batch, not the pipeline's {PIPELINE_BATCH}")
    lines = [
        f"## GPU check: CNN sweep at {cfg['image_px']} px on {device_name(device)}{' (smoke)' if args.smoke else ''}",
        "",
        f"`python bench/gpu.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`: torch {torch.__version__}, "
        f"torchvision {facts['torchvision']}. ResNet18, {facts['weights']}. "
        f"{sizes['train']:,} / {sizes['validation']:,} / {sizes['test']:,} images {generated_at} "
        f"({facts['source']}); generating took {facts['generate_s']:.1f} s and writing the PNGs "
        f"{facts['png_s']:.1f} s, outside every timing below. Batch {batch} ({batch_note}), {epochs} epoch, "
        f"{len(lrs)} learning rate{'s' if len(lrs) > 1 else ''}. Ours: cnn.probe_features / fit_cell / "
        "evaluate_cell, uint8 images on the device once, bf16 autocast + channels_last on CUDA. Course-style: "
        "ImageFolder + PIL transforms + DataLoader, fp32, .item() per batch, the same device.",
        "",
        "| case | ours | course-style | speedup |",
        "|---|---|---|---|",
        f"| training, img/s (scratch + finetune cells, {train_images:,} images each) | {train_rate['ours']:,.0f} | "
        f"{train_rate['course']:,.0f} | {train_rate['ours'] / train_rate['course']:.1f}x |",
        f"| inference, img/s (validation + test, scratch + finetune cells) | {eval_rate['ours']:,.0f} | "
        f"{eval_rate['course']:,.0f} | {eval_rate['ours'] / eval_rate['course']:.1f}x |",
        f"| probe features: {n_all:,} images through the frozen backbone once, s | {ours['probe_s']:.2f} | "
        "none: the backbone runs in every probe cell's batches | - |",
        f"| one finetune cell at lr {lr:g} (build, train, evaluate), s | {ours_ft['cell_s']:.2f} | "
        f"{course_ft['cell_s']:.2f} | {course_ft['cell_s'] / ours_ft['cell_s']:.1f}x |",
        f"| test accuracy of that cell | {ours_ft['test_acc']:.3f} | {course_ft['test_acc']:.3f} | - |",
        f"| that cell streamed from the memory-mapped cache (budget below its size), build + train, s / test "
        f"accuracy | {ours['streamed']['cell_s']:.2f} / {ours['streamed']['test_acc']:.3f} | - | - |",
        f"| whole {n_cells}-cell sweep, s | {ours['sweep_s']:.2f} | {swept} | "
        f"{course['sweep_s'] / ours['sweep_s']:.1f}x |",
        "",
    ]
    if args.smoke or device.type != "cuda":
        lines.append("Goals: cannot be judged (" + ("smoke run" if args.smoke else "not a CUDA device") + ").")
    else:
        met = {True: "met", False: "missed"}
        lines += [
            f"- whole {n_cells}-cell sweep <= {GOAL_SWEEP_S:.0f} s: {met[ours['sweep_s'] <= GOAL_SWEEP_S]} "
            f"({ours['sweep_s']:.1f} s)",
            f"- training >= {GOAL_TRAIN:,} img/s: {met[train_rate['ours'] >= GOAL_TRAIN]} "
            f"({train_rate['ours']:,.0f} img/s at batch {batch})",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main

def run(args, device: torch.device, folder: Path) -> str:
    import torchvision

    cfg = SMOKE if args.smoke else FULL
    if args.generate_px:
        cfg = {**cfg, "generate_px": args.generate_px}
    generate_s, (data, source) = timed(lambda: generated(cfg["sizes"], cfg["generate_px"]), device)
    for split in data.values():
        split["images"] = upsampled(split["images"], cfg["image_px"], device)  # on the device once, as uint8
    host = {name: {**split, "images": split["images"].cpu()} for name, split in data.items()}
    png_s, _ = timed(lambda: images.write(folder / "faces", host), device)
    weights_path, weights_label = weights(args.weights, folder)
    s = {"arch": ARCH, "epochs": 1, "batch_size": args.batch, "image_size": cfg["image_px"],
         "weights_path": weights_path, "allow_download": lambda: False}
    torch.manual_seed(SEED)
    warm_up(device)
    course = course_sweep(folder / "faces", s, cfg["lrs"], args.reference, device)
    ours = ours_sweep(data, s, cfg["lrs"], device)
    ours["streamed"] = streamed(folder / "faces" / images.CACHE, s, course["lr"], device)
    facts = {"torchvision": torchvision.__version__, "weights": weights_label, "source": source,
             "generate_s": generate_s, "png_s": png_s}
    return report(ours, course, facts, cfg, args, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--smoke", action="store_true", help="tiny: 64 images per split, 32 px, one lr")
    parser.add_argument("--batch", type=int, default=PIPELINE_BATCH, help="images per Adam step (pipeline: 32)")
    parser.add_argument("--reference", choices=["one", "all"], default="one",
                        help="course-style cells: one per baseline (extrapolated) or all")
    parser.add_argument("--generate-px", type=int, help="px faces.generate renders at (default 64; 224: no upsampling)")
    parser.add_argument("--weights", default="", help="a ResNet18 ImageNet checkpoint file (default: found offline)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("error: no CUDA device: run on a GPU machine (or --device cpu --smoke to check the script)")
    try:
        with tempfile.TemporaryDirectory(prefix="nnrepro-gpu-") as scratch:
            text = run(args, device, Path(scratch))
    except UserError as err:
        sys.exit(f"error: {err}")
    loaded = [name for name in NOT_LOADED if name in sys.modules]
    print(text + f"\nModules a bare GPU machine lacks, loaded by this run: {', '.join(loaded) or 'none'}.")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
