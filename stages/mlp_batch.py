"""Stage mlp_batch: (batch size, epochs) pairs at `lr`, each evaluated several times inside its first epoch."""

import math

from nnrepro import cells, params
from nnrepro.errors import UserError, exit_on_user_error
from nnrepro.europe import loop, mlp, points
from nnrepro.runtime import parallel, stage


def pairs(config) -> list[tuple[int, int]]:
    values = params.nonempty_list(config.get("mlp_batch.pairs"), "mlp_batch.pairs")
    if not all(isinstance(p, list) and len(p) == 2 for p in values):
        raise UserError(f"mlp_batch.pairs must be a list of [batch size, epochs] pairs, got {values!r}")
    return [(params.integer(b, "mlp_batch.pairs batch size"), params.integer(e, "mlp_batch.pairs epochs"))
            for b, e in values]


def steps_of(pair: tuple[int, int], splits: dict) -> int:
    """Optimiser steps of a (batch size, epochs) pair: what its training time grows with."""
    batch_size, epochs = pair
    return math.ceil(len(splits["train"][1]) / batch_size) * epochs


@exit_on_user_error
def main() -> None:
    args = stage.parser(__doc__, "data", "live", "models").parse_args()
    run = stage.start(threads=1)
    arch = mlp.architecture(run.params)
    evals = run.params.integer("mlp_batch.first_epoch_evals")
    todo = pairs(run.params)
    splits = points.load_splits(args.data, run.device)
    names = [cells.batch_run(batch_size, epochs) for batch_size, epochs in todo]
    jobs = [(arch, loop.schedule(run.params, batch_size=batch_size, epochs=epochs), splits, run.seed,
             f"mlp_batch {name}", points.NUM_CLASSES, evals) for name, (batch_size, epochs) in zip(names, todo)]
    order = sorted(range(len(jobs)), key=lambda k: -steps_of(todo[k], splits))  # longest first: cores balance
    results, seconds = parallel.run_all(loop.fit, [jobs[k] for k in order], run.device)
    metrics, timings = {}, {}
    for k, (model, history), took in zip(order, results, seconds):
        (batch_size, epochs), name = todo[k], names[k]
        summary = loop.save_run(model, arch, history, args.live / name, args.models / f"{name}.pt")
        steps = math.ceil(len(splits["train"][1]) / batch_size)
        metrics[name] = {"batch_size": batch_size, "epochs": epochs, "iterations_per_epoch": steps, **summary}
        timings[f"{name}_seconds_per_epoch"] = history[-1]["seconds"] / history[-1]["epoch"]
        timings[f"{name}_seconds"] = took
    stage.finish(run, args, metrics, timings)


if __name__ == "__main__":
    main()
