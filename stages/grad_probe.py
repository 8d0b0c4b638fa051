"""Stage grad_probe: per-layer gradient magnitudes and dead units of a very deep MLP, plain and residual, over
several seeds (Figure 13)."""

import torch

from nnrepro import io, params
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import gradients, loop, mlp, points
from nnrepro.runtime import parallel, stage

VARIANTS = {"plain": False, "residual": True}


def probe_seed(arch: dict, splits: dict, layers: list, sched: dict, seed: int, label: str):
    """One run from PyTorch's default initialisation under `seed`: the model, its history, grads, dead units."""
    torch.manual_seed(seed)
    model = mlp.MLP(num_classes=points.NUM_CLASSES, **arch).to(splits["train"][0].device)
    history, grads, dead = gradients.train_with_probe(model, splits, layers, seed=seed, **sched)
    print(f"{label}: validation acc {history[-1].get('validation_acc', float('nan')):.4f}, last-epoch squared "
          f"gradient norms {', '.join(f'{g:.2g}' for g in grads[-1])}", flush=True)
    return model, history, grads, dead


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "models")
    args = parser.parse_args()
    ctx = stage.start(threads=1)
    arch = mlp.architecture(ctx.params, depth_key="grad_probe.depth", width_key="grad_probe.width")
    layers = ctx.params.items("grad_probe.layers", lambda value, name: params.integer(value, name, 0))
    seeds = [ctx.seed + k for k in range(ctx.params.integer("grad_probe.seeds"))]
    sched = loop.schedule(ctx.params, epochs_key="grad_probe.epochs", batch_key="grad_probe.batch_size")
    splits = points.load_splits(args.data, ctx.device)
    curves, metrics, timings = {"depth": arch["depth"], "layers": layers, "seeds": seeds}, {}, {}
    archs = {name: {**arch, "residual": residual} for name, residual in VARIANTS.items()}
    runs = [(name, seed) for name in VARIANTS for seed in seeds]
    jobs = [(archs[name], splits, layers, sched, seed, f"grad_probe {name} seed {seed} ({k % len(seeds) + 1}/"
             f"{len(seeds)})") for k, (name, seed) in enumerate(runs)]
    results, seconds = parallel.run_all(probe_seed, jobs, ctx.device)  # every run seeds itself: one per core at a time
    for (name, seed), (model, *_), took in zip(runs, results, seconds):
        mlp.save(model, archs[name], args.models / f"{name}-seed{seed}.pt")
        timings[f"{name}_seed{seed}_seconds"] = took
    for name in VARIANTS:
        done = [{"history": r[1], "grads": r[2], "dead": r[3]} for (n, _), r in zip(runs, results) if n == name]
        curves[name] = gradients.curves(done)
        metrics[name] = gradients.seed_summaries(done, seeds, layers)
    io.write_json(args.live / "probe.json", curves)
    for name in VARIANTS:
        io.write_csv(args.live / f"{name}_median.csv", gradients.median_table(curves[name], layers))
    stage.finish(ctx, args, metrics, timings)


if __name__ == "__main__":
    main()
