"""Stage mlp_sine: the default MLP on sine features against raw longitude/latitude, and both boundaries."""

import time

from nnrepro import boundary, params, runs
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    args = runs.parse_args(__doc__)
    config, seed, device = runs.start()
    arch = runs.model_config(params.get(config, "mlp"))
    resolution = params.integer(params.get(config, "evaluate.mesh"), "evaluate.mesh", 2)
    sched = runs.schedule(config)
    splits = runs.load_splits(args.data, device)
    bounds = boundary.extent(splits["train"][0])
    metrics, timings = {}, {}
    for features in ("xy", "sine"):
        began = time.perf_counter()
        run_arch = {**arch, "features": features}
        model, history = runs.fit(run_arch, sched, splits, seed, f"mlp_sine {features}")
        metrics[features] = runs.save_run(model, run_arch, history, args.live / features,
                                          args.models / f"{features}.pt")
        mesh = boundary.mesh_labels(model, bounds, resolution)
        boundary.save(args.live / f"{features}_boundary.npz", mesh)  # drawn by the figures stage
        timings[features] = time.perf_counter() - began
    runs.finish(metrics, args.metrics, args.timings, timings, seed, device)


if __name__ == "__main__":
    main()
