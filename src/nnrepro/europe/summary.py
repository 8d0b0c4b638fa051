"""What a training history sums up to: its final row and its best-validation row."""

from nnrepro import io


def summarize(history: list[dict]) -> dict:
    """Final and best-validation-epoch losses and accuracies; `diverged` when the loss stopped being finite."""
    final = history[-1]
    finite = [r for r in history if not r["diverged"] and "validation_acc" in r]
    best = max(finite, key=lambda r: r["validation_acc"]) if finite else final
    summary = {"diverged": final["diverged"], "epochs_run": final["epoch"], "best_epoch": best["epoch"]}
    for key in io.HISTORY_KEYS[1:]:
        if key in final:
            summary[f"final_{key}"] = io.finite_or_none(final[key])
            summary[f"best_{key}"] = io.finite_or_none(best[key])
    return summary
