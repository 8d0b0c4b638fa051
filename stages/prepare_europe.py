"""Stage prepare_europe: the three Europe CSVs, the country table and the country outlines."""

import argparse
from pathlib import Path

from nnrepro import io, params
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import points


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output folder, e.g. data/europe")
    args = parser.parse_args()
    config = params.load()
    texts = points.split_files(config, config.integer("seed", 0))
    for split, text in texts.items():
        io.write_text(args.out / f"{split}.csv", text)
    io.write_json(args.out / "countries.json", points.countries_table())
    io.write_json(args.out / "outlines.json", points.outlines())
    print(f"prepare_europe: wrote {', '.join(f'{s} ({t.count(chr(10)) - 1} rows)' for s, t in texts.items())}")


if __name__ == "__main__":
    main()
