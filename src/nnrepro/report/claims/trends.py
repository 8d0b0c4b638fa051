"""The shape of one curve, as sections 1.1.x read it: where it settles, how far it strays once settled, and its peaks
against its own jitter. Pure functions of (epochs, values) arrays; no thresholds of their own. Curves compared with
each other are measured on one scale, the larger of their changes: the height of the figure that shows both."""

import numpy as np

from nnrepro.report.claims.reading import LAST_EPOCHS

MAD_TO_Z = 0.6745  # the modified z-score of Iglewicz & Hoaglin: 0.6745 (x - median) / MAD, ~N(0, 1) for normal x
MEAN_AD_TO_Z = 1.2533  # its fallback where the MAD is 0: (x - median) / (1.2533 mean absolute deviation)


def level_and_change(epochs: np.ndarray, values: np.ndarray) -> tuple:
    """(level, change): the mean over the last LAST_EPOCHS epochs, and the curve's overall change, |first - level|
    (the height of the figure it is read from)."""
    level = float(values[epochs > epochs[-1] - LAST_EPOCHS].mean())
    return level, abs(float(values[0]) - level)


def settle_epoch(epochs: np.ndarray, values: np.ndarray, band: float, outside: float, scale: float = 0.0) -> float:
    """The first epoch from which the curve stays within `band` x `scale` (default: its own change) of its level, a
    share `outside` of the later evaluations excepted (a late spike does not undo the settling); the epoch must
    itself be within the band. A flat curve is settled from its first epoch; one never settled, at its last."""
    level, change = level_and_change(epochs, values)
    change = scale or change
    if change == 0:
        return float(epochs[0])
    away = np.abs(values - level) > band * change
    away_from = np.cumsum(away[::-1])[::-1]  # evaluations out of the band from each index on
    remaining = np.arange(len(values), 0, -1)
    settled = np.flatnonzero(~away & (away_from <= outside * remaining))
    return float(epochs[settled[0]] if len(settled) else epochs[-1])


def largest_stray(epochs: np.ndarray, values: np.ndarray, after: float, scale: float = 0.0) -> float:
    """The largest distance from the level of an evaluation after epoch `after`, in units of `scale` (default: the
    curve's own change)."""
    level, change = level_and_change(epochs, values)
    change = scale or change
    late = values[epochs > after]
    return float(np.abs(late - level).max() / change) if change > 0 and len(late) else 0.0


def rise_scores(values: np.ndarray) -> np.ndarray:
    """Each step's rise in robust z units of the curve's own steps (modified z-score), largest first; 0 for a curve
    whose steps are all equal."""
    steps = np.diff(np.asarray(values, float))
    if not len(steps):
        return np.zeros(0)
    centred = steps - np.median(steps)
    mad = float(np.median(np.abs(centred)))
    scale = mad / MAD_TO_Z if mad > 0 else MEAN_AD_TO_Z * float(np.abs(centred).mean())
    return np.sort(centred / scale if scale > 0 else np.zeros_like(centred))[::-1]


def nth_peak(values: np.ndarray, count: int) -> float:
    """The robust z of the count-th largest rise (the count peaks' weakest); -inf where there are fewer steps."""
    scores = rise_scores(values)
    return float(scores[count - 1]) if len(scores) >= count else float("-inf")


def tail_decline(epochs: np.ndarray, values: np.ndarray, share: float) -> float:
    """How far a least-squares line over the last `share` of the run falls across that stretch, in units of the
    curve's change (> 0: still falling at the end)."""
    _, change = level_and_change(epochs, values)
    start = epochs[-1] - share * (epochs[-1] - epochs[0])
    tail = epochs >= start
    if tail.sum() < 2 or change == 0:
        return 0.0
    slope = float(np.polyfit(epochs[tail], values[tail], 1)[0])
    return -slope * float(epochs[-1] - start) / change


def common_scale(*curves: tuple) -> float:
    """The larger change of the (epochs, values) curves: the scale they are compared on."""
    return max(level_and_change(epochs, values)[1] for epochs, values in curves)
