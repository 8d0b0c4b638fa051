"""Stage grad_probe: per-layer gradient magnitudes of a very deep MLP, plain and residual (Figure 13)."""

import time

from dvclive import Live

from nnrepro import europe, gradients, params, runs
from nnrepro.errors import exit_on_user_error
from nnrepro.mlp import MLP


@exit_on_user_error
def main() -> None:
    args = runs.parse_args(__doc__)
    config, seed, device = runs.start()
    cfg = params.get(config, "grad_probe")
    arch = runs.model_config({**params.get(config, "mlp"), **cfg}, "grad_probe")
    layers = [params.integer(i, "grad_probe.layers", 0)
              for i in params.nonempty_list(cfg.get("layers"), "grad_probe.layers")]
    sched = runs.schedule(config, epochs_key="grad_probe.epochs", batch_key="grad_probe.batch_size")
    splits = runs.load_splits(args.data, device)
    metrics, timings = {}, {}
    for name, residual in (("plain", False), ("residual", True)):
        began = time.perf_counter()
        run_arch = {**arch, "residual": residual}
        model = MLP(num_classes=europe.NUM_CLASSES, **run_arch).to(device)
        history, per_epoch = gradients.train_with_probe(model, splits, layers, seed=seed, **sched)
        with Live(str(args.live / name), dvcyaml=False, save_dvc_exp=False, report=None) as live:
            for values in per_epoch:
                for layer, value in zip(layers, values):
                    live.log_metric(f"grad_sq_norm/layer_{layer}", value)
                live.next_step()
        runs.save_model(model, run_arch, args.models / f"{name}.pt")
        metrics[name] = {**{f"last_epoch_layer_{l}": v for l, v in zip(layers, per_epoch[-1])},
                         **runs.summarize(history)}
        timings[name] = time.perf_counter() - began
    runs.finish(metrics, args.metrics, args.timings, timings, seed, device)


if __name__ == "__main__":
    main()
