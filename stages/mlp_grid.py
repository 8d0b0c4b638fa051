"""Stage mlp_grid (one matrix cell): the MLP at one depth and width, at `lr`."""

import argparse
import time

from nnrepro import params, runs
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, required=True, help="hidden layers")
    parser.add_argument("--width", type=int, required=True, help="units per hidden layer")
    runs.add_output_args(parser, single_run=True)
    args = parser.parse_args()
    config, seed, device = runs.start()
    cell = {**params.get(config, "mlp"), "depth": args.depth, "width": args.width}
    arch = runs.model_config(cell, depth_key="mlp_grid.depths", width_key="mlp_grid.widths")
    sched = runs.schedule(config)
    splits = runs.load_splits(args.data, device)
    began = time.perf_counter()
    model, history = runs.fit(arch, sched, splits, seed, f"mlp_grid d{args.depth}-w{args.width}")
    summary = runs.save_run(model, arch, history, args.live, args.model)
    runs.finish({"depth": args.depth, "width": args.width, **summary}, args.metrics, args.timings,
                {"seconds": time.perf_counter() - began}, seed, device)


if __name__ == "__main__":
    main()
