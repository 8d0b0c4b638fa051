"""Stage cnn (one matrix cell of cnn_scratch, cnn_probe or cnn_finetune): train one baseline at one learning rate,
score it on validation and test."""

from pathlib import Path

from nnrepro import cnn, faces, io, params, predictions, stage
from nnrepro.errors import exit_on_user_error

KEYS = {"scratch": ("arch", "epochs", "batch_size", "image_size"), "probe": ("epochs", "batch_size"),
        "finetune": ("arch", "epochs", "batch_size", "image_size", "weights_path")}


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "model")
    parser.add_argument("--baseline", choices=cnn.BASELINES, required=True)
    parser.add_argument("--lr", type=float, required=True, help="Adam learning rate")
    parser.add_argument("--predictions", type=Path, required=True, help="per-image predictions CSV")
    args = parser.parse_args()
    run = stage.start()
    settings = cnn.settings(run.params, *KEYS[args.baseline])
    data = cnn.load_features(args.data) if args.baseline == "probe" else faces.load_cache(args.data)
    label = f"cnn {args.baseline} lr={args.lr:g}"

    def report(row: dict) -> None:
        print(f"{label}: epoch {row['epoch']}/{settings['epochs']} train loss {row['train_loss']:.4f}", flush=True)

    lr = params.positive(args.lr, "cnn.lrs")
    net, history = cnn.fit_cell(args.baseline, data, settings, lr, run.seed, run.device, on_epoch=report)
    frame = predictions.frame(data, cnn.evaluate_cell(net, args.baseline, data, settings, run.device))
    metrics = {"baseline": args.baseline, "lr": args.lr, **predictions.cell_metrics(frame, history)}
    stage.log_history(history, args.live, ("train_loss", "train_acc"))
    io.write_csv(args.predictions, frame)
    io.save_torch(net.state_dict(), args.model)
    stage.finish(run, args, metrics)
    print(f"{label}: validation acc {metrics['validation_acc']}, test acc {metrics['test_acc']}")


if __name__ == "__main__":
    main()
