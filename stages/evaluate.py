"""Stage evaluate: best and worst grid cells, their histories and decision boundaries, accuracy vs depth/width.

Writes tables and meshes only; the figures stage draws them (so a figure's style never reruns this stage)."""

import argparse
from pathlib import Path

from nnrepro import boundary, grid, io, params, runs
from nnrepro.errors import exit_on_user_error

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder with the Europe CSVs and outlines")
    parser.add_argument("--grid", type=Path, nargs=3, required=True, metavar=("METRICS", "LIVE", "MODELS"),
                        help="mlp_grid's metrics, DVCLive and model folders")
    parser.add_argument("--out", type=Path, required=True, help="folder for tables and figures")
    parser.add_argument("--metrics", type=Path, required=True, help="summary metrics JSON")
    return parser.parse_args()


@exit_on_user_error
def main() -> None:
    args = parse_args()
    metrics_dir, live_dir, models_dir = args.grid
    config, seed, device = runs.start()
    depths, widths = grid.axes(config)
    resolution = params.integer(params.get(config, "evaluate.mesh"), "evaluate.mesh", 2)
    table = grid.collect(metrics_dir, depths, widths)
    best, worst = grid.best_and_worst(table)
    splits = runs.load_splits(args.data, device)
    bounds = boundary.extent(splits["train"][0])
    io.write_csv(args.out / "grid.csv", table)
    for rank, cell in (("best", best), ("worst", worst)):
        io.write_csv(args.out / f"{rank}_history.csv", runs.read_history(live_dir / cell))
        mesh = boundary.mesh_labels(runs.load_model(models_dir / f"{cell}.pt", device), bounds, resolution)
        boundary.save(args.out / f"{rank}_boundary.npz", mesh)
    mlp = params.get(config, "mlp")
    width, depth = grid.nearest(widths, mlp["width"]), grid.nearest(depths, mlp["depth"])
    for axis, rows in (("depth", table[table["width"] == width]), ("width", table[table["depth"] == depth])):
        io.write_csv(args.out / f"acc_vs_{axis}.csv",
                     rows.sort_values(axis)[[axis, "final_validation_acc", "final_test_acc"]])
    summary = {**grid.summary(table, best, worst), "depth_slice_width": width, "width_slice_depth": depth}
    io.write_json(args.metrics, {**summary, "provenance": io.provenance(seed, str(device))})


if __name__ == "__main__":
    main()
