"""Stage mlp_sine: the default MLP on sine features against raw longitude/latitude, and both boundaries."""

from nnrepro import boundary, europe, mlp, parallel, stage, train
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    run = stage.start(threads=1)
    resolution = run.params.integer("evaluate.mesh", 2)
    sched = train.schedule(run.params)
    splits = europe.load_splits(args.data, run.device)
    bounds = boundary.extent(splits["train"][0])
    archs = {features: mlp.architecture(run.params, features=features) for features in ("xy", "sine")}
    jobs = [(arch, sched, splits, run.seed, f"mlp_sine {features}", europe.NUM_CLASSES)
            for features, arch in archs.items()]
    results, seconds = parallel.run_all(train.fit, jobs, run.device)  # both inputs side by side, one per core
    metrics, timings = {}, {}
    for (features, arch), (model, history), took in zip(archs.items(), results, seconds):
        metrics[features] = train.save_run(model, arch, history, args.live / features, args.models / f"{features}.pt")
        boundary.save(args.live / f"{features}_boundary.npz", boundary.mesh_labels(model, bounds, resolution))
        timings[f"{features}_seconds"] = took
    stage.finish(run, args, metrics, timings)


if __name__ == "__main__":
    main()
