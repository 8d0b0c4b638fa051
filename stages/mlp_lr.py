"""Stage mlp_lr: the default MLP at every learning rate of the sweep, without and with BatchNorm (Figures 1 and 3);
the learning rates and seeds of each variant train as one stacked computation, each cell keeping its own files."""

from pathlib import Path

from nnrepro import cells, params
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import mlp, points, runs, schedule
from nnrepro.runtime import stage


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "models", metrics=False)
    parser.add_argument("--metrics", type=Path, required=True, help="folder of per-cell metrics JSON files")
    args = parser.parse_args()
    ctx = stage.start(threads=1, kind="mlp")  # models this small lose more to intra-op threads than they gain
    arch = mlp.architecture(ctx.params)
    todo = {
        cells.lr_cell(lr, batchnorm): runs.Run({**arch, "batchnorm": batchnorm}, schedule.read(ctx.params, lr=lr))
        for batchnorm in ctx.params.items("mlp_lr.batchnorm", params.boolean)
        for lr in ctx.params.items("mlp_lr.lrs", params.positive)
    }
    splits = points.load_splits(args.data, ctx.device)
    seeds = ctx.seeds
    results = runs.fit_runs(todo, splits, seeds, "mlp_lr", points.NUM_CLASSES, ctx.device, args.live)
    sweeps: dict[str, list[str]] = {}  # Figures 1 and 3: one table per sweep, bnfalse.tsv and bntrue.tsv
    for name, run in todo.items():
        sweeps.setdefault(f"bn{cells.dvc_str(run.arch['batchnorm'])}.tsv", []).append(name)
    summaries, timings = runs.save_runs(todo, results, seeds, args.live, args.models, sweeps)
    runs.write_cells(
        args.metrics,
        summaries,
        {name: {"lr": run.sched["lr"], "batchnorm": run.arch["batchnorm"]} for name, run in todo.items()},
    )
    stage.finish(ctx, args, None, timings)


if __name__ == "__main__":
    main()
