"""Stage mlp_long: the default MLP for many epochs at `lr`, without and with BatchNorm side by side (Figures 2
and 4)."""

from nnrepro.errors import exit_on_user_error
from nnrepro.europe import mlp, points, runs, schedule
from nnrepro.runtime import stage


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    ctx = stage.start(threads=1, kind="mlp")
    arch = mlp.architecture(ctx.params)
    sched = schedule.read(ctx.params, epochs_key="mlp_long.epochs")
    splits = points.load_splits(args.data, ctx.device)
    todo = {name: runs.Run({**arch, "batchnorm": bn}, sched) for name, bn in (("plain", False), ("batchnorm", True))}
    seeds = ctx.seeds
    results = runs.fit_runs(todo, splits, seeds, "mlp_long", points.NUM_CLASSES, ctx.device, args.live)
    stage.finish(ctx, args, *runs.save_runs(todo, results, seeds, args.live, args.models))


if __name__ == "__main__":
    main()
