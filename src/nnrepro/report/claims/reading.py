"""Reading the facts for a check: keys and numbers, a run's curves and windows of them, whether a run is sound
(neither diverged nor collapsed), the measures of a curve's trend, and the binomial noise of accuracies."""

import math

import numpy as np

from nnrepro.report.claims.core import COLLAPSED, COLLAPSED_NOTE, cannot, fails

LAST_EPOCHS = 10  # a trend ("over time", "stabilizing") is judged on the last 10 epochs, not the final point


def get(facts: dict, *keys):
    """facts[k1][k2]...; a missing key, None or empty container cannot be judged."""
    node = facts
    for key in keys:
        if not isinstance(node, dict) or node.get(key) is None:
            raise cannot(f"no {'.'.join(map(str, keys))} in the facts")
        node = node[key]
    if isinstance(node, (dict, list)) and not node:
        raise cannot(f"{'.'.join(map(str, keys))} is empty")
    return node


def number(value, label: str) -> float:
    if value is None or not math.isfinite(float(value)):
        raise cannot(f"{label} is missing (None or not finite)")
    return float(value)


def live(
    run: dict, label: str, subject: bool, why: str = "nothing sound to compare with", failing: bool = False
) -> dict:
    """The run itself when sound. Diverged or collapsed: does not hold if the claim is about it (subject), the seed
    is dropped (for `why`: cannot(..., COLLAPSED)) if it is only compared with; a collapsed run the course describes
    failing (failing) is judged as it is."""
    if run.get("diverged"):
        if subject:
            raise fails(f"{label} diverged, so it does not behave as the course saw")
        raise cannot(f"{label} diverged: {why}", COLLAPSED)
    if run.get("collapsed") and not failing:
        if subject:
            raise fails(f"{label} collapsed (one class predicted), so it does not learn as the course saw")
        raise cannot(f"{label} collapsed (one class predicted): {why}", COLLAPSED)
    return run


def note(*runs: dict) -> str:
    """COLLAPSED_NOTE when any of the runs collapsed (a failure the course describes), else ''."""
    return COLLAPSED_NOTE if any(run.get("collapsed") for run in runs) else ""


def curve(run: dict, key: str, label: str, least: int = 1) -> tuple:
    """(epochs, values) of one history, evaluations without a finite value dropped."""
    values, epochs = run.get(key), run.get("epoch")
    if not values or not epochs or len(values) != len(epochs):
        raise cannot(f"{label} has no {key} history (or it does not match its epochs)")
    v = np.array([np.nan if x is None else x for x in values], float)
    e = np.array([np.nan if x is None else x for x in epochs], float)
    keep = np.isfinite(v) & np.isfinite(e)
    if keep.sum() < least:
        raise cannot(f"{label} has fewer than {least} finite {key} values")
    return e[keep], v[keep]


def final(run: dict, key: str, label: str) -> float:
    values = run.get(key)
    if not values:
        raise cannot(f"{label} has no {key} history")
    return number(values[-1], f"{label}'s final {key}")


def last_epochs(run: dict, key: str, label: str) -> float:
    """Mean of `key` over the run's last LAST_EPOCHS epochs (all of a shorter run)."""
    epochs, values = curve(run, key, label)
    return float(values[epochs > epochs[-1] - LAST_EPOCHS].mean())


def after(run: dict, key: str, label: str, epoch: float, least: int = 2) -> np.ndarray:
    """The values of `key` evaluated after `epoch`; fewer than `least`: cannot be judged."""
    epochs, values = curve(run, key, label)
    if (epochs > epoch).sum() < least:
        raise cannot(f"{label} has fewer than {least} {key} evaluations after epoch {epoch:g}")
    return values[epochs > epoch]


# --- Trends ----------------------------------------------------------------------------------------------------------
def excess_variation(values) -> float:
    """Total variation beyond the net change: 0 for a monotone curve, grows with every peak."""
    v = np.asarray(values, float)
    return float(np.abs(np.diff(v)).sum() - abs(v[-1] - v[0])) if len(v) > 1 else 0.0


def binomial(*accuracies: tuple) -> float:
    """Standard error of a difference of accuracies, each (p, n): sqrt(sum of p(1 - p) / n)."""
    return math.sqrt(sum(p * (1 - p) / n for p, n in accuracies))
