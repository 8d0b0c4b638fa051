"""Stage mlp_batch: (batch size, epochs) pairs at `lr`, evaluated several times inside one-epoch runs."""

import math
import time

from nnrepro import params, runs
from nnrepro.errors import UserError, exit_on_user_error


def pairs(config: dict) -> list[tuple[int, int]]:
    values = params.nonempty_list(params.get(config, "mlp_batch.pairs"), "mlp_batch.pairs")
    if not all(isinstance(p, list) and len(p) == 2 for p in values):
        raise UserError(f"mlp_batch.pairs must be a list of [batch size, epochs] pairs, got {values!r}")
    return [(params.integer(b, "mlp_batch.pairs batch size"), params.integer(e, "mlp_batch.pairs epochs"))
            for b, e in values]


@exit_on_user_error
def main() -> None:
    args = runs.parse_args(__doc__)
    config, seed, device = runs.start()
    arch = runs.model_config(params.get(config, "mlp"))
    evals = params.integer(params.get(config, "mlp_batch.one_epoch_evals"), "mlp_batch.one_epoch_evals")
    todo = pairs(config)
    splits = runs.load_splits(args.data, device)
    metrics, timings = {}, {}
    for batch_size, epochs in todo:
        name = f"b{batch_size}-e{epochs}"
        sched = runs.schedule(config, batch_size=batch_size, epochs=epochs)
        began = time.perf_counter()
        model, history = runs.fit(arch, sched, splits, seed, f"mlp_batch {name}", evals if epochs == 1 else 1)
        summary = runs.save_run(model, arch, history, args.live / name, args.models / f"{name}.pt")
        steps = math.ceil(len(splits["train"][1]) / batch_size)
        metrics[name] = {"batch_size": batch_size, "epochs": epochs, "iterations_per_epoch": steps, **summary}
        timings[f"{name}_seconds_per_epoch"] = history[-1]["seconds"] / history[-1]["epoch"]
        timings[f"{name}_seconds"] = time.perf_counter() - began
    runs.finish(metrics, args.metrics, args.timings, timings, seed, device)


if __name__ == "__main__":
    main()
