"""Stage mlp_batch: (batch size, epochs) pairs at `lr`, each evaluated several times inside its first epoch."""

import math

from nnrepro import cells, params
from nnrepro.errors import UserError, exit_on_user_error
from nnrepro.europe import mlp, points, runs, schedule
from nnrepro.runtime import stage


def pairs(config) -> list[tuple[int, int]]:
    values = params.nonempty_list(config.get("mlp_batch.pairs"), "mlp_batch.pairs")
    if not all(isinstance(p, list) and len(p) == 2 for p in values):
        raise UserError(f"mlp_batch.pairs must be a list of [batch size, epochs] pairs, got {values!r}")
    return [
        (params.integer(b, "mlp_batch.pairs batch size"), params.integer(e, "mlp_batch.pairs epochs"))
        for b, e in values
    ]


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    ctx = stage.start(threads=1, kind="mlp")
    arch = mlp.architecture(ctx.params)
    evals = ctx.params.integer("mlp_batch.first_epoch_evals")
    todo = {
        cells.batch_run(batch_size, epochs): runs.Run(
            arch, schedule.read(ctx.params, batch_size=batch_size, epochs=epochs), evals
        )
        for batch_size, epochs in pairs(ctx.params)
    }
    splits = points.load_splits(args.data, ctx.device)
    seeds = ctx.seeds
    results = runs.fit_runs(todo, splits, seeds, "mlp_batch", points.NUM_CLASSES, ctx.device, args.live)
    metrics, timings = runs.save_runs(todo, results, seeds, args.live, args.models, {"pairs.tsv": list(todo)})
    for name, (fitted, _) in results.items():
        history = fitted[0][1]  # every pair trains the same number of replicates stacked: times compare
        batch_size, epochs = todo[name].sched["batch_size"], todo[name].sched["epochs"]
        steps = math.ceil(len(splits["train"][1]) / batch_size)
        metrics[name] = {"batch_size": batch_size, "epochs": epochs, "iterations_per_epoch": steps, **metrics[name]}
        timings[f"{name}_seconds_per_epoch"] = history[-1]["seconds"] / history[-1]["epoch"]
    stage.finish(ctx, args, metrics, timings)


if __name__ == "__main__":
    main()
