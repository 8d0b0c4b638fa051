"""Stage mlp_long: the default MLP for many epochs at `lr`, without and with BatchNorm (Figures 2 and 4)."""

import time

from nnrepro import params, runs
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    args = runs.parse_args(__doc__)
    config, seed, device = runs.start()
    arch = runs.model_config(params.get(config, "mlp"))
    sched = runs.schedule(config, epochs_key="mlp_long.epochs")
    splits = runs.load_splits(args.data, device)
    metrics, timings = {}, {}
    for name, batchnorm in (("plain", False), ("batchnorm", True)):
        began = time.perf_counter()
        run_arch = {**arch, "batchnorm": batchnorm}
        model, history = runs.fit(run_arch, sched, splits, seed, f"mlp_long {name}")
        metrics[name] = runs.save_run(model, run_arch, history, args.live / name, args.models / f"{name}.pt")
        timings[name] = time.perf_counter() - began
    runs.finish(metrics, args.metrics, args.timings, timings, seed, device)


if __name__ == "__main__":
    main()
