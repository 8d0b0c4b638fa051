"""Stage grad_probe: per-layer gradient magnitudes and dead units of a very deep MLP, plain and residual, over
several replicates (Figure 13)."""

import logging

from nnrepro import io, params, replicates
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import gradients, mlp, points, runs, schedule, stacked
from nnrepro.runtime import parallel, stage

logger = logging.getLogger(__name__)

VARIANTS = {"plain": False, "residual": True}


def probe_variant(run: runs.Run, splits: dict, layers: list, seeds: list[int], label: str) -> list[dict]:
    """Every replicate of one variant (one per seed), stacked: per replicate its model, history, gradient norms and
    dead fractions."""
    models = [runs.build(run.arch, seed, points.NUM_CLASSES, splits["train"][0].device) for seed in seeds]
    histories, grads, dead = stacked.train_stacked(
        models,
        splits,
        lrs=[run.sched["lr"]] * len(seeds),
        seeds=seeds,
        epochs=run.sched["epochs"],
        batch_size=run.sched["batch_size"],
        probe_layers=layers,
    )
    for k, (history, grad) in enumerate(zip(histories, grads)):
        logger.info(
            f"{label} {replicates.REPLICATE.format(k)}: "
            f"validation acc {history[-1].get('validation_acc', float('nan')):.4f}, "
            f"last-epoch squared gradient norms {', '.join(f'{g:.2g}' for g in grad[-1])}"
        )
    return [{"model": m, "history": h, "grads": g, "dead": d} for m, h, g, d in zip(models, histories, grads, dead)]


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "models")
    args = parser.parse_args()
    ctx = stage.start(threads=1, kind="grad_probe")
    arch = mlp.architecture(ctx.params, depth_key="grad_probe.depth", width_key="grad_probe.width")
    layers = ctx.params.items("grad_probe.layers", lambda value, name: params.integer(value, name, 0))
    gradients.probed_weights(mlp.MLP(num_classes=points.NUM_CLASSES, **arch), layers)  # bad layers: one line, now
    seeds = ctx.seeds
    sched = schedule.read(ctx.params, epochs_key="grad_probe.epochs", batch_key="grad_probe.batch_size")
    splits = points.load_splits(args.data, ctx.device)
    variants = {name: runs.Run({**arch, "residual": residual}, sched) for name, residual in VARIANTS.items()}
    jobs = [(run, splits, layers, seeds, f"grad_probe {name}") for name, run in variants.items()]
    results, seconds = parallel.run_all(probe_variant, jobs, ctx.device)  # the two variants side by side
    curves, metrics, timings = {"depth": arch["depth"], "layers": layers, "seeds": seeds}, {}, {}
    for (name, run), probed, took in zip(variants.items(), results, seconds):
        for k, result in enumerate(probed):
            mlp.save(result["model"], run.arch, args.models / f"{name}-{replicates.REPLICATE.format(k)}.pt")
        curves[name] = gradients.curves(probed)
        metrics[name] = gradients.replicate_summaries(probed, layers)
        timings[f"{name}_seconds"] = took
    io.write_json(args.live / "probe.json", curves)
    for name in VARIANTS:
        io.write_csv(args.live / f"{name}_median.csv", gradients.median_table(curves[name], layers))
    stage.finish(ctx, args, metrics, timings)


if __name__ == "__main__":
    main()
