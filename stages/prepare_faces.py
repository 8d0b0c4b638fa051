"""Stage prepare_faces: the real/fake images in the course layout and their uint8 tensor cache."""

import argparse
from pathlib import Path

from nnrepro import faces, params
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/faces")
    args = parser.parse_args()
    config = params.load()
    data, sources = faces.build(config, config.integer("seed", 0))
    faces.write(args.out, data, sources)
    counts = ", ".join(f"{s} {len(d['labels'])} ({int(d['labels'].sum())} fake)" for s, d in data.items())
    print(f"prepare_faces: wrote {counts} images of {data['train']['images'].shape[-1]} px to {args.out}")


if __name__ == "__main__":
    main()
