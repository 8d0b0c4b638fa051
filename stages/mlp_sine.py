"""Stage mlp_sine: the default MLP on sine features against raw longitude/latitude, and both boundaries."""

from nnrepro import replicates
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import boundary, mlp, points, runs, schedule
from nnrepro.runtime import stage


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    ctx = stage.start(threads=1)
    resolution = ctx.params.integer("evaluate.mesh", 2)
    sched = schedule.read(ctx.params)
    splits = points.load_splits(args.data, ctx.device)
    bounds = boundary.extent(splits["train"][0])
    todo = {features: runs.Run(mlp.architecture(ctx.params, features=features), sched) for features in ("xy", "sine")}
    seeds = replicates.seeds_of(ctx.seed, ctx.params.integer("seeds"))
    results = runs.fit_runs(todo, splits, seeds, "mlp_sine", points.NUM_CLASSES, ctx.device, args.live)
    for features, (fitted, _) in results.items():
        first_model = fitted[0][0]  # the first replicate's boundary is drawn
        boundary.save(args.live / f"{features}_boundary.npz", boundary.mesh_labels(first_model, bounds, resolution))
    stage.finish(ctx, args, *runs.save_runs(todo, results, seeds, args.live, args.models))


if __name__ == "__main__":
    main()
