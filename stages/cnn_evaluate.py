"""Stage cnn_evaluate: the report's table (best, second-best, worst learning rate per baseline) and error grids."""

import argparse
import time
from pathlib import Path

from nnrepro import cnn, cnn_table, faces, io, params
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("cells", "cell_predictions", "xgboost", "xgboost_predictions", "cache"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, required=True)
    for name in ("summary", "table", "by_lr", "predictions", "grid_best", "grid_worst", "timings"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, required=True)
    args = parser.parse_args()
    start = time.perf_counter()
    lrs = params.nonempty_list(params.get(params.load(), "cnn.lrs"), "cnn.lrs")
    cells, predictions = cnn_table.collect(args.cells, args.cell_predictions, cnn.BASELINES, lrs)
    chosen, xgb = cnn_table.select(cells), io.read_json(args.xgboost)
    io.write_json(args.summary, cnn_table.summary(chosen, xgb))
    io.write_text(args.table, cnn_table.markdown(chosen, xgb))
    io.write_csv(args.by_lr, cnn_table.accuracy_by_lr(cells, xgb))
    everyone = {**predictions, "xgboost": cnn_table.read_predictions(args.xgboost_predictions)}
    io.write_csv(args.predictions, cnn_table.wide_predictions(everyone))
    cache, order = faces.load_cache(args.cache), cnn_table.ordered_baselines(chosen)
    for path, baseline, which in ((args.grid_best, order[0], "best"), (args.grid_worst, order[-1], "worst")):
        cell = chosen[baseline]["best"]["cell"]
        wrong = cnn_table.misclassified_grid(path, predictions[cell], cache, f"{cell} (best of the {which} baseline)")
        print(f"cnn_evaluate: {cell} misclassifies {wrong} test images -> {path}")
    io.write_json(args.timings, {"wall_seconds": round(time.perf_counter() - start, 2)})
    print(cnn_table.markdown(chosen, xgb), end="")


if __name__ == "__main__":
    main()
