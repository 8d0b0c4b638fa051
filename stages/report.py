"""Stage report: reports/report.md and a self-contained reports/report.html from the tracked results and the
claims; a function of the tracked results, params and the pinned versions alone, byte-identical across reruns
(timings have their own page)."""

import logging
from pathlib import Path

import yaml

from nnrepro import params
from nnrepro.errors import exit_on_user_error
from nnrepro.report import readback, render

logger = logging.getLogger(__name__)


def parse_args():
    parser = readback.parser(__doc__)
    parser.add_argument("--mlp-sine", type=Path, required=True, metavar="METRICS")
    parser.add_argument("--claims", type=Path, required=True, metavar="JSON")
    parser.add_argument("--course", type=Path, required=True, metavar="YAML", help="the course report's numbers")
    parser.add_argument("--provenance", type=Path, required=True, metavar="FOLDER")
    parser.add_argument("--constraints", type=Path, required=True, help="the pinned versions (pip constraints)")
    parser.add_argument("--figures", type=Path, required=True, help="the figures stage's PNG folder")
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--html", type=Path, required=True)
    return parser.parse_args()


@exit_on_user_error
def main() -> None:
    args = parse_args()
    config = params.load()
    everything = {key: config.get(key) for key in config.values}  # printed whole under Provenance
    data = {
        "facts": readback.facts(readback.result_paths(args)),
        "sine": readback.read_json(args.mlp_sine),
        "course": yaml.safe_load(readback.require(args.course).read_text()),
        "claims": readback.read_json(args.claims),
        "figures": args.figures,
        "provenance": readback.provenance(args.provenance),
        "pins": readback.pins(args.constraints),
        "params": everything,
        "params_text": yaml.safe_dump(everything, sort_keys=False),
    }
    render.write(data, args.markdown, args.html)
    logger.info(f"report: {args.markdown} and {args.html}")


if __name__ == "__main__":
    main()
