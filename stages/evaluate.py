"""Stage evaluate: best and worst grid models by validation accuracy (among the course's seven configurations or
the whole grid), their histories and decision boundaries, accuracy against depth and width; and the decision
boundaries of mlp_sine's two models (every mesh is drawn here, so evaluate.mesh retrains nothing).

Writes tables and meshes only; the figures stage draws them (so a figure's style never reruns this stage)."""

import logging
import shutil
from pathlib import Path

import pandas as pd
import torch

from nnrepro import io, replicates
from nnrepro.errors import exit_on_user_error, missing
from nnrepro.europe import boundary, grid, mlp, points
from nnrepro.runtime import stage

logger = logging.getLogger(__name__)


def parse_args():
    parser = stage.parser(__doc__, "data")
    parser.add_argument(
        "--grid",
        type=Path,
        nargs=3,
        required=True,
        metavar=("METRICS", "LIVE", "MODELS"),
        help="mlp_grid's metrics, DVCLive and model folders",
    )
    parser.add_argument("--sine", type=Path, required=True, metavar="MODELS", help="mlp_sine's model folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for tables and meshes")
    return parser.parse_args()


def copy_history(live_dir: Path, out: Path) -> None:
    """A cell's DVCLive step files (its mean's) and its replicates' table, copied as they are (the figures stage
    reads them back)."""
    source, table = live_dir / "plots" / "metrics", live_dir / io.REPLICATES_FILE
    if not source.is_dir() or not table.is_file():
        raise missing(f"the DVCLive history in {live_dir}", "mlp_grid")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(source, out)
    shutil.copy(table, out / io.REPLICATES_FILE)


def test_predictions(models_dir: Path, cell: str, replicates: list[str], test: tuple, device) -> pd.DataFrame:
    """The test points and each replicate's predicted country, by name (the claims judge small countries on it)."""
    x, y = test
    names = [name for name, _ in points.COUNTRIES]
    table = {
        "long": x[:, 0].cpu().numpy().round(4),
        "lat": x[:, 1].cpu().numpy().round(4),
        "country": [names[i] for i in y.tolist()],
    }
    for replicate in replicates:
        model = mlp.load(models_dir / f"{cell}-{replicate}.pt", points.NUM_CLASSES, device)
        with torch.no_grad():
            table[replicate] = [names[i] for i in model(x).argmax(1).tolist()]
    return pd.DataFrame(table)


@exit_on_user_error
def main() -> None:
    args = parse_args()
    metrics_dir, live_dir, models_dir = args.grid
    ctx = stage.start(threads=1)  # trains nothing, so it reads no seed
    select_from = ctx.params.choice("evaluate.select_from", grid.SELECT_FROM)
    resolution = ctx.params.integer("evaluate.mesh", 2)
    table = grid.collect(metrics_dir)  # the cells mlp_grid wrote
    width = grid.nearest(sorted({int(w) for w in table["width"]}), ctx.params.integer("mlp.width"))
    depth = grid.nearest(sorted({int(d) for d in table["depth"]}), ctx.params.integer("mlp.depth"))
    best, worst = grid.select(table, select_from, depth, width)
    splits = points.load_splits(args.data, ctx.device)
    bounds = boundary.extent(splits["train"][0])
    first = replicates.REPLICATE.format(0)
    io.write_csv(args.out / "grid.csv", table)
    for rank, cell in (("best", best), ("worst", worst)):
        copy_history(live_dir / cell, args.out / f"{rank}_history")
        model = mlp.load(models_dir / f"{cell}-{first}.pt", points.NUM_CLASSES, ctx.device)
        boundary.save(args.out / f"{rank}_boundary.npz", boundary.mesh_labels(model, bounds, resolution))
    for features in mlp.FEATURES:  # mlp_sine's runs, named after their features; the first replicate's is drawn
        model = mlp.load(args.sine / f"{features}-{first}.pt", points.NUM_CLASSES, ctx.device)
        boundary.save(args.out / f"{features}_boundary.npz", boundary.mesh_labels(model, bounds, resolution))
    reps = list(io.read_json(metrics_dir / f"{best}.json")["replicates"])
    io.write_csv(
        args.out / "best_test_predictions.csv", test_predictions(models_dir, best, reps, splits["test"], ctx.device)
    )
    for cell in table[table["depth"] == depth]["cell"]:  # the width slice: where its test errors lie (1.2.4)
        io.write_csv(
            args.out / f"{cell}_test_predictions.csv",
            test_predictions(models_dir, cell, reps, splits["test"], ctx.device),
        )
    for axis, rows in (("depth", table[table["width"] == width]), ("width", table[table["depth"] == depth])):
        io.write_csv(args.out / f"acc_vs_{axis}.csv", rows.sort_values(axis)[[axis, *grid.COLUMNS[:3]]])
    summary = {
        **grid.summary(table, best, worst),
        "select_from": select_from,
        "depth_slice_width": width,
        "width_slice_depth": depth,
    }
    stage.finish(ctx, args, summary)
    logger.info(
        f"evaluate: best {best}, worst {worst} (from the {select_from} cells); slices at width {width}, depth {depth}"
    )


if __name__ == "__main__":
    main()
