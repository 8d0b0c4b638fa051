"""Stage timings: every stage's wall-clock seconds on one page (reports/timings.md), kept apart from the report
so that the report is byte-identical across reruns."""

import argparse
import logging
from pathlib import Path

from nnrepro import io
from nnrepro.errors import exit_on_user_error
from nnrepro.report import readback

logger = logging.getLogger(__name__)


def page(folder: Path) -> str:
    rows, per_epoch = [], []
    for path in sorted(folder.rglob("*.json")):
        record = readback.read_json(path)
        rows.append(f"| {path.relative_to(folder).with_suffix('').as_posix()} | {record.get('wall_seconds', 0):.1f} |")
        per_epoch += [
            f"| {k.removesuffix('_seconds_per_epoch')} | {v:.4g} |"
            for k, v in record.items()
            if k.endswith("_seconds_per_epoch")
        ]
    return (
        "\n".join(
            [
                "# Timings",
                "",
                f"Wall-clock seconds of the last run of each stage, on {io.cpu_model()}. These change "
                "from run to run and machine to machine; the report and the metrics do not.",
                "",
                "| stage | seconds |",
                "|---|---|",
                *rows,
                "",
                "Seconds per epoch of each (batch size, epochs) pair "
                "(the claim 'larger batches take less time per epoch'):",
                "",
                "| pair | seconds per epoch |",
                "|---|---|",
                *per_epoch,
            ]
        )
        + "\n"
    )


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timings", type=Path, required=True, help="the timings folder")
    parser.add_argument("--out", type=Path, required=True, help="the Markdown page to write")
    args = parser.parse_args()
    io.write_text(args.out, page(readback.require(args.timings)))
    logger.info(f"timings: {args.out}")


if __name__ == "__main__":
    main()
