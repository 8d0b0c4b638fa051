"""Stage cnn (one matrix cell): train one baseline at one learning rate, score it on val and test."""

import argparse
import time
from pathlib import Path

import torch

from nnrepro import cnn, cnn_table, device, faces, io, params
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", choices=cnn.BASELINES, required=True)
    parser.add_argument("--lr", type=float, required=True, help="Adam learning rate")
    parser.add_argument("--data", type=Path, required=True, help="image cache, or probe features for probe")
    for name in ("metrics", "predictions", "model", "plots", "timings"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    args = parser.parse_args()
    config = params.load()
    seed = params.integer(params.get(config, "seed"), "seed", 0)
    dev = device.setup(seed, params.get(config, "device"))
    settings = cnn.settings(params.get(config, "cnn"))
    data = cnn.load_features(args.data) if args.baseline == "probe" else faces.load_cache(args.data)
    name, start = cnn_table.cell_name(args.baseline, args.lr), time.perf_counter()
    net, history = train(args, data, settings, seed, dev, name)
    frame = cnn_table.predictions_frame(data, cnn.evaluate_cell(net, args.baseline, data, settings, dev))
    metrics = {"baseline": args.baseline, "lr": args.lr, "arch": settings["arch"], "epochs": settings["epochs"],
               **cnn_table.cell_metrics(frame, history), "provenance": io.provenance(seed, dev.type)}
    io.write_csv(args.predictions, frame)
    with io.atomic_path(args.model) as tmp:
        torch.save(net.state_dict(), tmp)
    io.write_json(args.metrics, metrics)
    io.write_json(args.timings, {"wall_seconds": round(time.perf_counter() - start, 2)})
    print(f"cnn {name}: val {metrics['val_accuracy']:.3f}, test {metrics['test_accuracy']:.3f} "
          f"in {time.perf_counter() - start:.1f} s")


def train(args, data: dict, settings: dict, seed: int, dev: torch.device, name: str):
    """Fit the cell, then log its history: a failed run leaves the DVCLive folder as it was."""
    from dvclive import Live

    def report(row: dict) -> None:
        print(f"cnn {name}: epoch {row['epoch']} train loss {row['train_loss']:.4f}", flush=True)

    net, history = cnn.fit_cell(args.baseline, data, settings, args.lr, seed, dev, on_epoch=report)
    with Live(str(args.plots), dvcyaml=False, save_dvc_exp=False) as live:
        for row in history:
            for key in ("train_loss", "train_accuracy"):
                live.log_metric(key, row[key], timestamp=False)
            live.next_step()
    return net, history

if __name__ == "__main__":
    main()
