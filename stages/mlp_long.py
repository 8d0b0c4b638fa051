"""Stage mlp_long: the default MLP for many epochs at `lr`, without and with BatchNorm (Figures 2 and 4)."""

from nnrepro import europe, mlp, stage, train
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    run = stage.start(threads=1)
    arch = mlp.architecture(run.params)
    sched = train.schedule(run.params, epochs_key="mlp_long.epochs")
    splits = europe.load_splits(args.data, run.device)
    metrics, timings = {}, {}
    for name, batchnorm in (("plain", False), ("batchnorm", True)):
        began = run.seconds()
        run_arch = {**arch, "batchnorm": batchnorm}
        model, history = train.fit(run_arch, sched, splits, run.seed, f"mlp_long {name}", europe.NUM_CLASSES)
        metrics[name] = train.save_run(model, run_arch, history, args.live / name, args.models / f"{name}.pt")
        timings[f"{name}_seconds"] = run.seconds() - began
    stage.finish(run, args, metrics, timings)


if __name__ == "__main__":
    main()
