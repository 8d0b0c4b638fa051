"""Stage xgboost (named xgb.py so that it does not shadow the xgboost package): default XGBoost on pixels."""

import logging
from pathlib import Path

from nnrepro import imagecache, io
from nnrepro.errors import exit_on_user_error
from nnrepro.faces import predictions, xgb
from nnrepro.runtime import stage
from nnrepro.runtime.device import thread_count

logger = logging.getLogger(__name__)
# Default XGBoost samples no rows or columns, so its seed changes no result: a constant, not replicates.first (which
# would rerun this stage for nothing).
XGB_SEED = 0


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "model")
    parser.add_argument("--predictions", type=Path, required=True, help="per-image predictions CSV")
    args = parser.parse_args()
    ctx = stage.start()
    crop = ctx.params.integer("xgboost.crop")
    data = imagecache.load(args.data)
    model = xgb.fit(data["train"]["images"], data["train"]["labels"], crop, XGB_SEED, thread_count(), ctx.device.type)
    frame = predictions.frame(data, {s: xgb.predict(model, data[s]["images"], crop) for s in predictions.SCORED})
    metrics = {**predictions.split_accuracies(frame), "features": xgb.feature_count(data["train"]["images"], crop)}
    io.write_csv(args.predictions, frame)
    with io.atomic_path(args.model) as tmp:
        model.save_model(str(tmp.with_suffix(".json")))  # xgboost picks the format from the suffix
        tmp.with_suffix(".json").replace(tmp)
    stage.finish(ctx, args, metrics)
    logger.info(f"xgboost: validation acc {metrics['validation_acc']:.3f}, test acc {metrics['test_acc']:.3f}")


if __name__ == "__main__":
    main()
