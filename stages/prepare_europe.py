"""Stage prepare_europe: the three Europe CSVs, the country table and the country outlines."""

import logging
import sys

try:
    from nnrepro import io, params
except ModuleNotFoundError as err:  # another Python than the project's: `.venv/bin/dvc repro` without the venv on PATH
    sys.exit(
        f"error: {err.name} is not installed for {sys.executable}: activate the project's environment "
        "(`. .venv/bin/activate`) and rerun"
    )
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import points

logger = logging.getLogger(__name__)


@exit_on_user_error
def main() -> None:
    out, config = params.out_folder_and_params(__doc__, "data/europe")
    texts = points.split_files(config, config.integer("data_seed", 0))
    with io.staging(out) as tmp:  # all files or none
        for split, text in texts.items():
            io.write_text(tmp / f"{split}.csv", text)
        io.write_json(tmp / "countries.json", points.countries_table())
        io.write_json(tmp / "outlines.json", points.outlines())
    logger.info(f"prepare_europe: wrote {', '.join(f'{s} ({t.count(chr(10)) - 1} rows)' for s, t in texts.items())}")


if __name__ == "__main__":
    main()
