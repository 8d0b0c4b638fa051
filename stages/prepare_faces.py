"""Stage prepare_faces: the real/fake images in the course layout and their decoded uint8 cache on disk."""

import argparse
from pathlib import Path

from nnrepro import params
from nnrepro.errors import exit_on_user_error
from nnrepro.faces import images


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/faces")
    args = parser.parse_args()
    config = params.load()
    cache = images.prepare(config, config.integer("seed", 0), args.out)
    counts = ", ".join(f"{s} {len(d['labels'])} ({int(d['labels'].sum())} fake)" for s, d in cache.items())
    print(f"prepare_faces: wrote {counts} images of {cache['train']['images'].shape[-1]} px to {args.out}")


if __name__ == "__main__":
    main()
