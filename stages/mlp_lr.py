"""Stage mlp_lr (one matrix cell): the default MLP at one learning rate, without or with BatchNorm."""

import argparse
import time

from nnrepro import params, runs
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lr", type=float, required=True, help="Adam learning rate")
    parser.add_argument("--batchnorm", choices=["true", "false"], required=True)
    runs.add_output_args(parser, single_run=True)
    args = parser.parse_args()
    config, seed, device = runs.start()
    arch = {**runs.model_config(params.get(config, "mlp")), "batchnorm": args.batchnorm == "true"}
    sched = runs.schedule(config, lr_key="mlp_lr.lrs", lr=args.lr)
    splits = runs.load_splits(args.data, device)
    began = time.perf_counter()
    model, history = runs.fit(arch, sched, splits, seed, f"mlp_lr lr={args.lr:g} batchnorm={args.batchnorm}")
    summary = runs.save_run(model, arch, history, args.live, args.model)
    runs.finish({"lr": args.lr, "batchnorm": arch["batchnorm"], **summary}, args.metrics, args.timings,
                {"seconds": time.perf_counter() - began}, seed, device)


if __name__ == "__main__":
    main()
