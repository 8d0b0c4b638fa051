"""Stage prepare_faces: the real/fake images in the course layout and their decoded uint8 cache on disk."""

import logging
import sys

try:
    from nnrepro import params
except ModuleNotFoundError as err:  # another Python than the project's: `.venv/bin/dvc repro` without the venv on PATH
    sys.exit(
        f"error: {err.name} is not installed for {sys.executable}: activate the project's environment "
        "(`. .venv/bin/activate`) and rerun"
    )
from nnrepro.errors import exit_on_user_error
from nnrepro.faces import images

logger = logging.getLogger(__name__)


@exit_on_user_error
def main() -> None:
    out, config = params.out_folder_and_params(__doc__, "data/faces")
    cache = images.prepare(config, config.integer("data_seed", 0), out)
    counts = ", ".join(f"{s} {len(d['labels'])} ({int(d['labels'].sum())} fake)" for s, d in cache.items())
    logger.info(f"prepare_faces: wrote {counts} images of {cache['train']['images'].shape[-1]} px to {out}")


if __name__ == "__main__":
    main()
