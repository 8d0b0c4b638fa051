"""Stage report: reports/report.md and a self-contained reports/report.html from the tracked results and the
claims; a function of metrics and params alone, byte-identical across reruns (timings have their own page)."""

import argparse
from pathlib import Path

import yaml

from nnrepro import params, readback, report
from nnrepro.errors import exit_on_user_error


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    two = {"type": Path, "nargs": 2, "required": True}
    parser.add_argument("--mlp-lr", **two, metavar=("METRICS_DIR", "LIVE_DIR"))
    parser.add_argument("--mlp-long", **two, metavar=("METRICS", "LIVE_DIR"))
    parser.add_argument("--mlp-batch", **two, metavar=("METRICS", "LIVE_DIR"))
    parser.add_argument("--evaluate", **two, metavar=("METRICS", "FOLDER"))
    parser.add_argument("--grad-probe", type=Path, required=True, metavar="FOLDER")
    parser.add_argument("--cnn-selection", type=Path, required=True, metavar="JSON")
    parser.add_argument("--mlp-sine", type=Path, required=True, metavar="METRICS")
    parser.add_argument("--claims", type=Path, required=True, metavar="JSON")
    parser.add_argument("--course", type=Path, required=True, metavar="YAML", help="the course report's numbers")
    parser.add_argument("--provenance", type=Path, required=True, metavar="FOLDER")
    parser.add_argument("--figures", type=Path, required=True, help="the figures stage's PNG folder")
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--html", type=Path, required=True)
    return parser.parse_args()


@exit_on_user_error
def main() -> None:
    args = parse_args()
    config = params.load()
    everything = {key: config.get(key) for key in config.values}  # printed whole under Provenance
    paths = {name: getattr(args, name) for name in ("mlp_lr", "mlp_long", "mlp_batch", "evaluate", "grad_probe",
                                                      "cnn_selection")}
    data = {
        "facts": readback.facts(paths, config), "sine": readback.read_json(args.mlp_sine),
        "course": yaml.safe_load(readback.require(args.course).read_text()),
        "claims": readback.read_json(args.claims), "figures": args.figures,
        "provenance": readback.provenance(args.provenance), "params": everything,
        "params_text": yaml.safe_dump(everything, sort_keys=False),
    }
    report.write(data, args.markdown, args.html)
    print(f"report: {args.markdown} and {args.html}")


if __name__ == "__main__":
    main()
