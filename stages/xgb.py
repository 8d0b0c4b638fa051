"""Stage xgboost (named xgb.py so that it does not shadow the xgboost package): default XGBoost on pixels."""

import argparse
import time
from pathlib import Path

from nnrepro import boost, cnn_table, device, faces, io, params
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, required=True, help="image cache, e.g. data/faces/cache.pt")
    for name in ("metrics", "predictions", "model", "timings"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    args = parser.parse_args()
    config = params.load()
    seed = params.integer(params.get(config, "seed"), "seed", 0)
    crop = params.integer(params.get(config, "xgboost.crop"), "xgboost.crop")
    data, start = faces.load_cache(args.cache), time.perf_counter()
    print(f"xgboost: fitting {boost.ROUNDS} rounds on {len(data['train']['labels'])} images", flush=True)
    model = boost.fit(data["train"]["images"], data["train"]["labels"], crop, seed, device.thread_count())
    probs = {split: boost.predict(model, data[split]["images"], crop) for split in ("val", "test")}
    frame = cnn_table.predictions_frame(data, probs)
    features = int(boost.pixels(data["train"]["images"][:1], crop).shape[1])
    metrics = {**cnn_table.split_accuracies(frame), "crop": crop, "features": features}
    io.write_csv(args.predictions, frame)
    with io.atomic_path(args.model) as tmp:
        model.save_model(str(tmp.with_suffix(".json")))
        tmp.with_suffix(".json").replace(tmp)
    io.write_json(args.metrics, {**metrics, "provenance": io.provenance(seed, "cpu")})
    io.write_json(args.timings, {"wall_seconds": round(time.perf_counter() - start, 2)})
    print(f"xgboost: val {metrics['val_accuracy']:.3f}, test {metrics['test_accuracy']:.3f}")


if __name__ == "__main__":
    main()
