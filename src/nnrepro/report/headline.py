"""The few numbers a reader of the report looks at first, as one small metrics file: short, unique keys, so that
`dvc exp show` (the README's line) lists them in a table that fits a screen."""

from nnrepro import selection

KEYS = (
    "long_acc",
    "long_bn_acc",
    "grid_best",
    "grid_worst",
    "scratch_acc",
    "probe_acc",
    "finetune_acc",
    "xgboost_acc",
    "claims_hold",
    "claims_fail",
    "claims_unjudged",
    "unjudged_noise",
    "unjudged_collapsed",
    "unjudged_missing",
    "unjudged_one_run",
)


def headline(facts: dict, counts: dict, reasons: dict) -> dict:
    """Long-run test accuracy, the best and worst grid model, each CNN baseline's best test accuracy, XGBoost's, and
    how many claims hold, do not, and cannot be judged (within noise, collapsed, missing, one run). `counts`:
    verdict -> n, `reasons`: why -> n (claims.verdict_counts and reason_counts)."""
    long, grid, cnn = facts["long"], facts["grid"], facts["cnn"]
    result = {
        "long_acc": long["plain"].get("final_test_acc"),
        "long_bn_acc": long["batchnorm"].get("final_test_acc"),
        "grid_best": grid["best"],
        "grid_worst": grid["worst"],
    }
    for baseline, cells in cnn["cells"].items():
        result[f"{baseline}_acc"] = selection.best(list(cells.values())).get("test_acc")
    return {
        **result,
        "xgboost_acc": cnn["xgboost"]["test_acc"],
        "claims_hold": counts["holds"],
        "claims_fail": counts["does not hold"],
        "claims_unjudged": counts["cannot be judged"],
        "unjudged_noise": reasons["within noise"],
        "unjudged_collapsed": reasons["collapsed"],
        "unjudged_missing": reasons["missing"],
        "unjudged_one_run": reasons["one run"],
    }
