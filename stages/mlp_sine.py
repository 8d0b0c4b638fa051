"""Stage mlp_sine: the default MLP on sine features against raw longitude/latitude (the evaluate stage draws both
models' decision boundaries, so a mesh resolution never retrains them)."""

from nnrepro.errors import exit_on_user_error
from nnrepro.europe import mlp, points, runs, schedule
from nnrepro.runtime import stage

FEATURES = ("xy", "sine")  # the runs, named after their features: models/mlp_sine/<features>-rep<k>.pt


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    ctx = stage.start(threads=1, kind="mlp")
    sched = schedule.read(ctx.params)
    splits = points.load_splits(args.data, ctx.device)
    todo = {features: runs.Run(mlp.architecture(ctx.params, features=features), sched) for features in FEATURES}
    seeds = ctx.seeds
    results = runs.fit_runs(todo, splits, seeds, "mlp_sine", points.NUM_CLASSES, ctx.device, args.live)
    stage.finish(ctx, args, *runs.save_runs(todo, results, seeds, args.live, args.models))


if __name__ == "__main__":
    main()
