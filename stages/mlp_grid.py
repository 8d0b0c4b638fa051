"""Stage mlp_grid: the MLP at every depth x width of the grid, at `lr`, the cells trained side by side on every
core; each cell keeps its own metrics, DVCLive history and model file."""

import logging
from pathlib import Path

from nnrepro import cells, params
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import mlp, points, runs, schedule
from nnrepro.runtime import stage

logger = logging.getLogger(__name__)


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "models", metrics=False)
    parser.add_argument("--metrics", type=Path, required=True, help="folder of per-cell metrics JSON files")
    args = parser.parse_args()
    ctx = stage.start(threads=1, kind="mlp")
    features = ctx.params.choice("mlp.features", mlp.FEATURES)
    sched = schedule.read(ctx.params)
    todo = {
        cells.grid_cell(depth, width): runs.Run({"depth": depth, "width": width, "features": features}, sched)
        for depth in ctx.params.items("mlp_grid.depths", params.integer)
        for width in ctx.params.items("mlp_grid.widths", params.integer)
    }
    splits = points.load_splits(args.data, ctx.device)
    seeds = ctx.seeds
    results = runs.fit_runs(todo, splits, seeds, "mlp_grid", points.NUM_CLASSES, ctx.device, args.live)
    summaries, timings = runs.save_runs(todo, results, seeds, args.live, args.models)
    runs.write_cells(
        args.metrics,
        summaries,
        {name: {key: run.arch[key] for key in ("depth", "width")} for name, run in todo.items()},
    )
    stage.finish(ctx, args, None, timings)
    logger.info(f"mlp_grid: {len(todo)} cells in {ctx.seconds():.0f} s")


if __name__ == "__main__":
    main()
