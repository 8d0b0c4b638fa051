"""Stage mlp_long: the default MLP for many epochs at `lr`, without and with BatchNorm side by side (Figures 2
and 4)."""

from nnrepro import europe, mlp, parallel, stage, train
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    run = stage.start(threads=1)
    arch = mlp.architecture(run.params)
    sched = train.schedule(run.params, epochs_key="mlp_long.epochs")
    splits = europe.load_splits(args.data, run.device)
    variants = {"plain": {**arch, "batchnorm": False}, "batchnorm": {**arch, "batchnorm": True}}
    jobs = [(variant, sched, splits, run.seed, f"mlp_long {name}", europe.NUM_CLASSES)
            for name, variant in variants.items()]
    results, seconds = parallel.run_all(train.fit, jobs, run.device)  # the two variants side by side, one per core
    metrics, timings = {}, {}
    for (name, variant), (model, history), took in zip(variants.items(), results, seconds):
        metrics[name] = train.save_run(model, variant, history, args.live / name, args.models / f"{name}.pt")
        timings[f"{name}_seconds"] = took
    stage.finish(run, args, metrics, timings)


if __name__ == "__main__":
    main()
