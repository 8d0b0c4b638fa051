"""Stage mlp_long: the default MLP for many epochs at `lr`, without and with BatchNorm side by side (Figures 2
and 4)."""

from nnrepro.errors import exit_on_user_error
from nnrepro.europe import loop, mlp, points
from nnrepro.runtime import parallel, stage


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    run = stage.start(threads=1)
    arch = mlp.architecture(run.params)
    sched = loop.schedule(run.params, epochs_key="mlp_long.epochs")
    splits = points.load_splits(args.data, run.device)
    variants = {"plain": {**arch, "batchnorm": False}, "batchnorm": {**arch, "batchnorm": True}}
    jobs = [(variant, sched, splits, run.seed, f"mlp_long {name}", points.NUM_CLASSES)
            for name, variant in variants.items()]
    results, seconds = parallel.run_all(loop.fit, jobs, run.device)  # the two variants side by side, one per core
    metrics, timings = {}, {}
    for (name, variant), (model, history), took in zip(variants.items(), results, seconds):
        metrics[name] = loop.save_run(model, variant, history, args.live / name, args.models / f"{name}.pt")
        timings[f"{name}_seconds"] = took
    stage.finish(run, args, metrics, timings)


if __name__ == "__main__":
    main()
