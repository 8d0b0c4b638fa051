"""Stage mlp_sine: the default MLP on sine features against raw longitude/latitude, and both boundaries."""

from nnrepro import boundary, europe, mlp, stage, train
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    run = stage.start(threads=1)
    resolution = run.params.integer("evaluate.mesh", 2)
    sched = train.schedule(run.params)
    splits = europe.load_splits(args.data, run.device)
    bounds = boundary.extent(splits["train"][0])
    metrics, timings = {}, {}
    for features in ("xy", "sine"):
        began = run.seconds()
        arch = mlp.architecture(run.params, features=features)
        model, history = train.fit(arch, sched, splits, run.seed, f"mlp_sine {features}", europe.NUM_CLASSES)
        metrics[features] = train.save_run(model, arch, history, args.live / features, args.models / f"{features}.pt")
        boundary.save(args.live / f"{features}_boundary.npz", boundary.mesh_labels(model, bounds, resolution))
        timings[f"{features}_seconds"] = run.seconds() - began
    stage.finish(run, args, metrics, timings)


if __name__ == "__main__":
    main()
