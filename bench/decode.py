"""Decode throughput of prepare_faces: images per second, on one worker and on every core, for JPEG and PNG files
of a typical face-set size, decoded and resized into the memory-mapped cache by faces.decode_folder.

Usage: python bench/decode.py [--images 240] [--side 512]   (writes bench/DECODE.md)
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nnrepro.faces import images
from nnrepro.io import cpu_model

SIZE = 64  # px, faces.image_size: the cache's side


def make_folder(root: Path, count: int, side: int, suffix: str) -> dict:
    """The course layout with `count` photo crops of side x side px per split and class, as faces.list_folder
    lists it."""
    photos = images.load_photos()
    rng = np.random.default_rng(0)
    for split in images.FOLDERS.values():
        for name in images.CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                photo = photos[rng.integers(len(photos))]
                image = images.fit((photo * 255).round().byte(), min(side, *photo.shape[1:]), "")
                Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{i}{suffix}", quality=90)
    return images.list_folder(root)


def rate(files: dict, workers: int, out: Path, repeats: int) -> float:
    total = sum(len(f) for f in files.values())
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        images.decode_folder(files, SIZE, out / f"w{workers}-{r}", workers)
        times.append(time.perf_counter() - start)
    return total / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=40, help="per split and class (x 6 in all)")
    parser.add_argument("--side", type=int, default=512, help="px, side of the source files")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for suffix in (".jpg", ".png"):
            files = make_folder(Path(scratch) / suffix[1:], args.images, args.side, suffix)
            one = rate(files, 1, Path(scratch), args.repeats)
            every = rate(files, cores, Path(scratch), args.repeats)
            rows.append(f"| {suffix[1:].upper()} | {one:,.0f} | {every:,.0f} | {every / cores:,.0f} | "
                        f"{every / one:.2f}x |")
    lines = ["# Decode throughput of prepare_faces", "",
             f"`python bench/decode.py --images {args.images} --side {args.side}` on {cpu_model()} ({cores} cores): "
             f"{6 * args.images} files of about {args.side} px per format, decoded (torchvision.io.decode_image), "
             f"resized to {SIZE} px and written into the memory-mapped cache; median of {args.repeats}.", "",
             "| format | img/s, 1 worker | img/s, one worker per core | img/s per core | speedup |",
             "|---|---|---|---|---|", *rows]
    Path(__file__).with_name("DECODE.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
