"""1.2.1-1.2.4 Evaluating MLPs: the best and worst model, accuracy against depth and width."""

import numpy as np

from nnrepro.report.claims.core import Finding, cannot, claim, fmt
from nnrepro.report.claims.reading import binomial, get, live, note, number

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
ACC_GAP = 0.03  # "converge quite near" / "did not overfit": train accuracy 3 points or less above val/test
UNDERFIT_MARGIN = 0.05  # "underfitted" next to the best model: validation and train accuracy 5+ points below its
NO_GAIN_MARGIN = 0.01  # "slight decay" at depth 10: it beats depth 6 by at most 1 point of validation accuracy
NOT_TOO_INACCURATE = 0.8  # "not too inaccurate ... compared to the best model": 80%+ of the best's test accuracy
VERY_ACCURATE = 0.9  # "very accurate, even in the tightest spots": 90%+ of the spot's test points right
THRESHOLDS = ("ACC_GAP", "UNDERFIT_MARGIN", "NO_GAIN_MARGIN", "NOT_TOO_INACCURATE", "VERY_ACCURATE")
SHALLOW_DEPTHS = (1, 2)  # "the lowest depths (specifically 1 and 2)"
DEEP_DEPTHS = (6, 10)  # "the higher depths" they fall below
SWEET_WIDTH = 32  # "a sweet-spot hanging over the width of 32"
OVERFIT_WIDTH = 64  # "looking at width 64, we might have a case of overfitting"
SPOTS = {"Albania": ("Albania", (-180, 180), (-90, 90)), "Sardinia": ("Italy", (8.0, 10.0), (38.8, 41.4))}
POINTS_FILE = "plots/evaluate/best_test_predictions.csv"  # the evaluate stage's per-point predictions (not yet)

_SPLITS = ("train", "validation", "test")


def _accs(cell: dict, label: str, subject: bool, failing: bool = False) -> dict:
    """split -> final accuracy of a grid cell; diverged or missing: cannot be judged (no accuracies); collapsed: as
    live() (does not hold if the claim is about it, cannot be judged if compared with, judged if failing)."""
    if cell.get("diverged"):
        raise cannot(f"{label} diverged: it has no final accuracies")
    live(cell, label, subject, failing=failing)
    return {s: number(cell.get(f"final_{s}_acc"), f"{label}'s final {s} accuracy") for s in _SPLITS}


def _named_cell(facts: dict, which: str) -> tuple:
    name = get(facts, "grid", which)
    return name, get(facts, "grid", "cells", name)


def _cell(facts: dict, depth: int, width: int) -> tuple:
    for name, cell in sorted(get(facts, "grid", "cells").items()):
        if cell.get("depth") == depth and cell.get("width") == width:
            return name, cell
    raise cannot(f"no grid cell with depth {depth} and width {width}")


def _depth_acc(facts: dict, depth: int, subject: bool) -> float:
    """Validation accuracy of `depth` at the depth slice's width."""
    width = get(facts, "grid", "depth_slice_width")
    return _accs(_cell(facts, depth, width)[1], f"depth {depth} width {width}", subject)["validation"]


def _width_accs(facts: dict, width: int) -> tuple:
    """(depth, {width: accuracies}) of the width slice, the claim's width its subject; absent: cannot be judged."""
    depth = get(facts, "grid", "width_slice_depth")
    cells = {c.get("width"): (n, c) for n, c in sorted(get(facts, "grid", "cells").items()) if c.get("depth") == depth}
    if len(cells) < 2 or width not in cells:
        raise cannot(f"no grid cell with width {width}, or fewer than two widths, at depth {depth}")
    live(cells[width][1], f"width {width}", True)
    return depth, {w: _accs(c, n, w == width) for w, (n, c) in sorted(cells.items())}


@claim(
    "best_generalises",
    "1.2.1",
    f"The best model (by validation accuracy) generalises: its train accuracy is at most {ACC_GAP * 100:g} points "
    "above its validation and test accuracy.",
    "The model generalized well, we can see that the losses of the Test and Validation converge quite near to the "
    "Train losses",
)
def best_generalises(facts: dict, th) -> Finding:
    """Effect: ACC_GAP minus the gap. The best cell missing or diverged: cannot be judged; collapsed: does not hold (a
    model that learns nothing has no gap to close)."""
    name, cell = _named_cell(facts, "best")
    acc = _accs(cell, name, True)
    gap = acc["train"] - min(acc["validation"], acc["test"])
    return Finding(
        th.ACC_GAP - gap,
        f"{name}: train {fmt(acc['train'])}, validation {fmt(acc['validation'])}, test {fmt(acc['test'])}",
        {"cell": name, **{f"{s}_acc": v for s, v in acc.items()}, "gap": gap},
    )


def _recall(points: dict, country: str, lons: tuple, lats: tuple) -> tuple:
    """(share of the spot's test points each replicate got right, averaged; points in the spot)."""
    (west, east), (south, north) = lons, lats
    lon, lat = np.asarray(points.get("long"), float), np.asarray(points.get("lat"), float)
    truth = np.asarray(points.get("country"), dtype=object)
    spot = (truth == country) & (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    predicted = [r["predicted"] for r in points["replicates"]] if "replicates" in points else [points["predicted"]]
    if not spot.any() or not predicted:
        raise cannot(f"no test points of {country} within longitude {lons}, latitude {lats}, or no predictions")
    return float(np.mean([(np.asarray(p, dtype=object)[spot] == country).mean() for p in predicted])), int(spot.sum())


@claim(
    "best_accurate_small_countries",
    "1.2.1",
    f"The best model is very accurate even in the tightest spots: it gets {VERY_ACCURATE:.0%}+ of Albania's test "
    "points and of Sardinia's (Italy's points on the island) right.",
    "the classification is very accurate, even in the tightest spots (take Albania or Sardinia for example)",
)
def best_accurate_small_countries(facts: dict, th) -> Finding:
    """Effect: the lower spot's accuracy minus VERY_ACCURATE; one seed: binomial noise over the spot's points. No
    per-point predictions of the best model: cannot be judged (missing). The best cell collapsed: does not hold."""
    points = facts.get("grid", {}).get("best_points") if isinstance(facts.get("grid"), dict) else None
    if not points:
        raise cannot(f"no per-point test predictions of the best model ({POINTS_FILE}, not written yet)")
    name, cell = _named_cell(facts, "best")
    live(cell, name, True)
    spots = {spot: _recall(points, *where) for spot, where in SPOTS.items()}
    low = min(spots, key=lambda s: spots[s][0])
    return Finding(
        spots[low][0] - th.VERY_ACCURATE,
        ", ".join(f"{s}: {fmt(acc)} of {n} test points right" for s, (acc, n) in spots.items()),
        {f"{s.lower()}_acc": acc for s, (acc, _) in spots.items()},
        binomial=binomial(spots[low]),
    )


@claim(
    "worst_underfits",
    "1.2.2",
    f"The worst model underfits: it does not overfit (train at most {ACC_GAP * 100:g} points above validation and "
    f"test), and its validation and train accuracies are each {UNDERFIT_MARGIN * 100:g}+ points below the best "
    "model's.",
    "it looks like the model is underfitted",
)
def worst_underfits(facts: dict, th) -> Finding:
    """Effect: the smallest of the three margins (points). Worst or best cell missing, diverged, or the same cell:
    cannot be judged; the best collapsed: cannot be judged; the worst collapsed: judged (underfitting is the failure
    the course describes) and the verdict says so."""
    (worst_name, worst), (best_name, best) = _named_cell(facts, "worst"), _named_cell(facts, "best")
    if worst_name == best_name:
        raise cannot(f"the best and the worst cell are the same ({worst_name})")
    low, high = _accs(worst, worst_name, True, failing=True), _accs(best, best_name, False)
    gap = low["train"] - min(low["validation"], low["test"])
    margin = min(
        th.ACC_GAP - gap,
        high["validation"] - low["validation"] - th.UNDERFIT_MARGIN,
        high["train"] - low["train"] - th.UNDERFIT_MARGIN,
    )
    return Finding(
        margin,
        f"{worst_name}: train {fmt(low['train'])}, validation {fmt(low['validation'])}, test "
        f"{fmt(low['test'])}; best {best_name}: train {fmt(high['train'])}, validation "
        f"{fmt(high['validation'])}",
        {
            "cell": worst_name,
            **{f"{s}_acc": v for s, v in low.items()},
            "gap": gap,
            "best_validation_acc": high["validation"],
            "best_train_acc": high["train"],
        },
        note=note(worst),
    )


@claim(
    "worst_not_too_inaccurate",
    "1.2.2",
    f"The worst model is not too inaccurate next to the best: its test accuracy is at least "
    f"{NOT_TOO_INACCURATE:g}x the best model's.",
    "the decision boundaries are looking good, not too inaccurate, especially when compared to the best model from Q1",
)
def worst_not_too_inaccurate(facts: dict, th) -> Finding:
    """Effect: the accuracy ratio minus NOT_TOO_INACCURATE. The worst collapsed: does not hold (its boundaries are
    not 'looking good'); the best collapsed, either diverged or missing: cannot be judged."""
    (worst_name, worst), (best_name, best) = _named_cell(facts, "worst"), _named_cell(facts, "best")
    low, high = _accs(worst, worst_name, True)["test"], _accs(best, best_name, False)["test"]
    if high <= 0:
        raise cannot(f"the best cell {best_name} has test accuracy {high:g}")
    return Finding(
        low / high - th.NOT_TOO_INACCURATE,
        f"test accuracy: worst {worst_name} {fmt(low)}, best {best_name} {fmt(high)}",
        {"worst_test_acc": low, "best_test_acc": high, "ratio": low / high},
    )


def _pool(facts: dict) -> dict:
    """The cells the best and worst were chosen from (the course's seven, or the whole grid)."""
    cells, grid = get(facts, "grid", "cells"), get(facts, "grid")
    if grid.get("select_from") == "grid":
        return cells
    return {
        n: c
        for n, c in cells.items()
        if c.get("width") == grid.get("depth_slice_width") or c.get("depth") == grid.get("width_slice_depth")
    }


@claim(
    "worst_is_one_layer",
    "1.2.2",
    "The worst model is a one-hidden-layer net: the lowest validation accuracy of the cells it was chosen from "
    "belongs to depth 1.",
    "considering that it's the number of hidden layers (only 1) could have possibly reached its limit",
)
def worst_is_one_layer(facts: dict, th) -> Finding:
    """Effect: the deeper cells' lowest validation accuracy minus depth 1's lowest. Any cell diverged or missing:
    cannot be judged; a deeper cell collapsed: cannot be judged; a depth-1 cell collapsed: judged (the worst failing
    is what the course describes)."""
    acc = {
        n: (c.get("depth"), _accs(c, n, False, failing=c.get("depth") == 1)["validation"])
        for n, c in sorted(_pool(facts).items())
    }
    shallow, deeper = ([a for d, a in acc.values() if (d == 1) == one] for one in (True, False))
    if not shallow or not deeper:
        raise cannot("the cells chosen from lack depth 1 or a deeper net")
    return Finding(
        min(deeper) - min(shallow),
        f"lowest validation accuracy: depth 1 {fmt(min(shallow))}, deeper {fmt(min(deeper))}",
        {"depth1_min_validation_acc": min(shallow), "deeper_min_validation_acc": min(deeper)},
        note=note(*(c for c in _pool(facts).values() if c.get("depth") == 1)),
    )


@claim(
    "shallow_below_deep",
    "1.2.3",
    f"Depths {SHALLOW_DEPTHS[0]} and {SHALLOW_DEPTHS[1]} are below depths {DEEP_DEPTHS[0]} and {DEEP_DEPTHS[1]}: "
    "the max of their validation accuracies is below the min of the deep ones' (at the depth slice's width).",
    "the accuracies of the lowest depths (specifically 1 and 2, marked in blue and red), are lower than that of "
    "the higher depths",
)
def shallow_below_deep(facts: dict, th) -> Finding:
    """Effect: the deep ones' min minus the shallow ones' max. Any cell missing or diverged: cannot be judged; a deep
    cell collapsed: does not hold; a shallow one collapsed: cannot be judged (lower than a learner, vacuously)."""
    acc = {d: _depth_acc(facts, d, d in DEEP_DEPTHS) for d in SHALLOW_DEPTHS + DEEP_DEPTHS}
    return Finding(
        min(acc[d] for d in DEEP_DEPTHS) - max(acc[d] for d in SHALLOW_DEPTHS),
        "validation accuracy: " + ", ".join(f"depth {d}: {fmt(v)}" for d, v in acc.items()),
        {f"validation_acc_d{d}": v for d, v in acc.items()},
    )


@claim(
    "depth10_no_gain",
    "1.2.3",
    f"Depth {DEEP_DEPTHS[1]} does not beat depth {DEEP_DEPTHS[0]} by more than {NO_GAIN_MARGIN * 100:g} point of "
    "validation accuracy ('slight decay').",
    "looking at Depth 10 we can see that there might be slight decay in accuracy",
)
def depth10_no_gain(facts: dict, th) -> Finding:
    """Effect: NO_GAIN_MARGIN minus the gain. Either cell missing, diverged or collapsed: cannot be judged (not
    beating a broken net, or a broken net's decay, means nothing)."""
    shallow, deep = (_depth_acc(facts, d, False) for d in DEEP_DEPTHS)
    return Finding(
        th.NO_GAIN_MARGIN - (deep - shallow),
        f"validation accuracy: depth {DEEP_DEPTHS[0]} {fmt(shallow)}, depth {DEEP_DEPTHS[1]} {fmt(deep)}",
        {"validation_acc_shallower": shallow, "validation_acc_deeper": deep, "gain": deep - shallow},
    )


@claim(
    "width32_sweet_spot",
    "1.2.4",
    f"Width {SWEET_WIDTH} is the sweet spot at the width slice's depth: the highest validation accuracy of all "
    "widths, and a test accuracy no lower than any other width's.",
    "We can see a sweet-spot hanging over the Width of 32",
)
def width32_sweet_spot(facts: dict, th) -> Finding:
    """Effect: its smallest lead over another width, validation or test. Width 32 diverged or collapsed: does not hold;
    another width diverged, collapsed or absent: cannot be judged."""
    depth, acc = _width_accs(facts, SWEET_WIDTH)
    sweet, others = acc.pop(SWEET_WIDTH), acc.values()
    return Finding(
        min(sweet[s] - o[s] for o in others for s in ("validation", "test")),
        f"validation/test accuracy at depth {depth}: width {SWEET_WIDTH}: {fmt(sweet['validation'])}/"
        f"{fmt(sweet['test'])}, "
        + ", ".join(f"width {w}: {fmt(a['validation'])}/{fmt(a['test'])}" for w, a in acc.items()),
        {"depth": depth, "validation_acc": sweet["validation"], "test_acc": sweet["test"]},
    )


@claim(
    "width32_best_all_splits",
    "1.2.4",
    f"Width {SWEET_WIDTH} has the best results on every split (train, validation and test) of the width slice.",
    "with it being with best overall results for all the datasets",
)
def width32_best_all_splits(facts: dict, th) -> Finding:
    """Effect: its smallest lead over another width on any split. Width 32 diverged or collapsed: does not hold;
    another width diverged, collapsed or absent: cannot be judged."""
    depth, acc = _width_accs(facts, SWEET_WIDTH)
    sweet = acc.pop(SWEET_WIDTH)
    lead = {s: min(sweet[s] - o[s] for o in acc.values()) for s in _SPLITS}
    return Finding(
        min(lead.values()),
        f"width {SWEET_WIDTH}'s lead over the best other width at depth {depth}: "
        + ", ".join(f"{s} {fmt(v)}" for s, v in lead.items()),
        {f"{s}_lead": v for s, v in lead.items()},
    )


@claim(
    "width64_overfits",
    "1.2.4",
    f"Width {OVERFIT_WIDTH} overfits: its train accuracy is more than {ACC_GAP * 100:g} points above both its "
    "validation and test accuracy, a larger gap than every other width's at that depth.",
    "Looking at Width 64, we might have a case of overfitting",
)
def width64_overfits(facts: dict, th) -> Finding:
    """Effect: the smaller margin of its gap over ACC_GAP and over the others'. Width 64 diverged or collapsed: does
    not hold (it fitted nothing); another width diverged, collapsed or absent: cannot be judged."""
    depth, acc = _width_accs(facts, OVERFIT_WIDTH)
    gap = {w: a["train"] - max(a["validation"], a["test"]) for w, a in acc.items()}
    others = max(g for w, g in gap.items() if w != OVERFIT_WIDTH)
    return Finding(
        min(gap[OVERFIT_WIDTH] - th.ACC_GAP, gap[OVERFIT_WIDTH] - others),
        f"train minus the higher of validation/test accuracy at depth {depth}: "
        + ", ".join(f"width {w}: {fmt(g)}" for w, g in gap.items()),
        {"depth": depth, **{f"gap_w{w}": g for w, g in gap.items()}},
    )
