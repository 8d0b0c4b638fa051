"""Stage mlp_grid: the MLP at every depth x width of the grid, at `lr`, the cells trained side by side on every
core; each cell keeps its own metrics, DVCLive history and model file."""

from pathlib import Path

from nnrepro import cells, io, params
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import loop, mlp, points
from nnrepro.runtime import parallel, stage


def cost(arch: dict) -> int:
    """Relative training cost of a cell (per-call overhead per layer plus its multiply-adds), to start the
    longest cells first so that the cores finish together."""
    return arch["depth"] * (64 + arch["width"]) * arch["width"]


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "models", metrics=False)
    parser.add_argument("--metrics", type=Path, required=True, help="folder of per-cell metrics JSON files")
    args = parser.parse_args()
    run = stage.start(threads=1)
    features = run.params.choice("mlp.features", mlp.FEATURES)
    archs = {cells.grid_cell(depth, width): {"depth": depth, "width": width, "features": features}
             for depth in run.params.items("mlp_grid.depths", params.integer)
             for width in run.params.items("mlp_grid.widths", params.integer)}
    sched = loop.schedule(run.params)
    splits = points.load_splits(args.data, run.device)
    names = sorted(archs, key=lambda name: -cost(archs[name]))
    jobs = [(archs[name], sched, splits, run.seed, f"mlp_grid {name}", points.NUM_CLASSES) for name in names]
    results, seconds = parallel.run_all(loop.fit, jobs, run.device)
    for name, (model, history) in zip(names, results):
        summary = loop.save_run(model, archs[name], history, args.live / name, args.models / f"{name}.pt")
        io.write_json(args.metrics / f"{name}.json", {"depth": archs[name]["depth"], "width": archs[name]["width"],
                                                      **summary})
    stage.finish(run, args, None, {f"{name}_seconds": took for name, took in zip(names, seconds)})
    print(f"mlp_grid: {len(names)} cells in {run.seconds():.0f} s")


if __name__ == "__main__":
    main()
