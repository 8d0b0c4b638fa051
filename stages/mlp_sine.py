"""Stage mlp_sine: the default MLP on sine features against raw longitude/latitude, and both boundaries."""

from nnrepro.errors import exit_on_user_error
from nnrepro.europe import boundary, loop, mlp, points
from nnrepro.runtime import parallel, stage


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    run = stage.start(threads=1)
    resolution = run.params.integer("evaluate.mesh", 2)
    sched = loop.schedule(run.params)
    splits = points.load_splits(args.data, run.device)
    bounds = boundary.extent(splits["train"][0])
    archs = {features: mlp.architecture(run.params, features=features) for features in ("xy", "sine")}
    jobs = [(arch, sched, splits, run.seed, f"mlp_sine {features}", points.NUM_CLASSES)
            for features, arch in archs.items()]
    results, seconds = parallel.run_all(loop.fit, jobs, run.device)  # both inputs side by side, one per core
    metrics, timings = {}, {}
    for (features, arch), (model, history), took in zip(archs.items(), results, seconds):
        metrics[features] = loop.save_run(model, arch, history, args.live / features, args.models / f"{features}.pt")
        boundary.save(args.live / f"{features}_boundary.npz", boundary.mesh_labels(model, bounds, resolution))
        timings[f"{features}_seconds"] = took
    stage.finish(run, args, metrics, timings)


if __name__ == "__main__":
    main()
