"""1.2.1-1.2.4 Evaluating MLPs: the best and worst model, accuracy against depth and width. Each check judges one
seed's view (its replicate of every grid cell, of the best and worst histories and of the per-point predictions)
and returns that seed's effect; the core judges the seeds' effects, never averaged curves."""

import functools
import math

import numpy as np

from nnrepro.report.claims.core import Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import binomial, get, last_epochs, live, note, number

# Thresholds, each a reading of the course's words (reference/thresholds.yaml says which were set before and which
# after a committed result showed their quantity, and what each re-derived one was before: a value in its unit, or
# the old rule in words).
ACC_GAP = 0.03  # "generalized well" / "did not overfit": train accuracy 3 points or less above val/test
LOSS_NEAR = 0.1  # "converge quite near" / "approx. the same" / "closely": test and validation loss within 10% of train
UNDERFIT_MARGIN = 0.05  # "underfitted" next to the best model: validation and train accuracy 5+ points below its
NOT_TOO_INACCURATE = 0.5  # "not too inaccurate ... compared to the best": keeps half of the best's lead over guessing
VERY_ACCURATE = 0.9  # "very accurate, even in the tightest spots": 90%+ of the spot's test points right
THRESHOLDS = ("ACC_GAP", "LOSS_NEAR", "UNDERFIT_MARGIN", "NOT_TOO_INACCURATE", "VERY_ACCURATE")
SHALLOW_DEPTHS = (1, 2)  # "the lowest depths (specifically 1 and 2)"
DEEP_DEPTHS = (6, 10)  # "the higher depths" they fall below
SWEET_WIDTH = 32  # "a sweet-spot hanging over the width of 32"
OVERFIT_WIDTH = 64  # "looking at width 64, we might have a case of overfitting"
SPOTS = {"Albania": ("Albania", (-180, 180), (-90, 90)), "Sardinia": ("Italy", (8.0, 10.0), (38.8, 41.4))}
POINTS_FILE = "plots/evaluate/best_test_predictions.csv"  # the evaluate stage's per-point predictions of the best
CHUNK = 512  # test points per block when measuring each point's distance to another country

_SPLITS = ("train", "validation", "test")


def _accs(cell: dict, label: str, subject: bool, failing: bool = False) -> dict:
    """split -> final accuracy of a grid cell in this view. Diverged: does not hold if the claim is about it, else
    the seed is dropped (nothing sound to compare with); collapsed: as reading.live; a missing accuracy: missing."""
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


def _width_cells(facts: dict, width: int) -> tuple:
    """(depth, {width: (name, cell)}) of the width slice; the claim's width absent: cannot be judged."""
    depth = get(facts, "grid", "width_slice_depth")
    cells = {c.get("width"): (n, c) for n, c in sorted(get(facts, "grid", "cells").items()) if c.get("depth") == depth}
    if len(cells) < 2 or width not in cells:
        raise cannot(f"no grid cell with width {width}, or fewer than two widths, at depth {depth}")
    return depth, cells


def _width_accs(facts: dict, width: int) -> tuple:
    """(depth, {width: accuracies}) of the width slice, the claim's width its subject (checked first)."""
    depth, cells = _width_cells(facts, width)
    _accs(cells[width][1], f"width {width}", True)
    return depth, {w: _accs(c, n, w == width) for w, (n, c) in sorted(cells.items())}


def _history(facts: dict, which: str) -> dict:
    """The best or worst model's history in this view, the claim's subject: diverged or collapsed does not hold."""
    return live(get(facts, "grid", f"{which}_history"), f"the {which} model ({get(facts, 'grid', which)})", True)


def _loss_gap(run: dict, label: str) -> dict:
    """The test and validation losses' distance from the train loss over the last epochs, relative to the train
    loss (reading.last_epochs' window, not the final point)."""
    train = last_epochs(run, "train_loss", label)
    if not train > 0:
        raise cannot(f"{label}'s train loss is {train:g}: no relative gap")
    return {s: abs(last_epochs(run, f"{s}_loss", label) - train) / train for s in ("validation", "test")}


def _loss_finding(facts: dict, which: str, th) -> Finding:
    run = _history(facts, which)
    gap = _loss_gap(run, f"the {which} model")
    return Finding(
        th.LOSS_NEAR - max(gap.values()),
        f"{get(facts, 'grid', which)}: over the last epochs the validation loss is {fmt(gap['validation'])} and the "
        f"test loss {fmt(gap['test'])} of the train loss away from it",
        {"validation_loss_gap": gap["validation"], "test_loss_gap": gap["test"]},
    )


# --- 1.2.1 The best model ------------------------------------------------------------------------------------------
@claim(
    "best_generalises",
    "1.2.1",
    f"The best model (by validation accuracy) generalises: its train accuracy is at most {ACC_GAP * 100:g} points "
    "above its validation and test accuracy.",
    "The model generalized well",
)
def best_generalises(facts: dict, th) -> Finding:
    """Effect: ACC_GAP minus the gap (accuracy). The best cell missing: cannot be judged; diverged or collapsed:
    does not hold (a model that learns nothing has no gap to close)."""
    name, cell = _named_cell(facts, "best")
    acc = _accs(cell, name, True)
    gap = acc["train"] - min(acc["validation"], acc["test"])
    return Finding(
        th.ACC_GAP - gap,
        f"{name}: train {fmt(acc['train'])}, validation {fmt(acc['validation'])}, test {fmt(acc['test'])}",
        {"cell": name, **{f"{s}_acc": v for s, v in acc.items()}, "gap": gap},
    )


@claim(
    "best_losses_converge",
    "1.2.1",
    f"The best model's test and validation losses end near its train loss: over the last epochs each is within "
    f"{LOSS_NEAR:.0%} of the train loss.",
    "the losses of the Test and Validation converge quite near to the Train losses, although there is some noise in "
    "some epochs, but the calculations eventually converge approx. the same",
)
def best_losses_converge(facts: dict, th) -> Finding:
    """Effect: LOSS_NEAR minus the larger relative gap (share of the train loss) over the last epochs, not at one
    noisy epoch. No history: cannot be judged; diverged or collapsed: does not hold (no curve converged)."""
    return _loss_finding(facts, "best", th)


def _recall(points: dict, country: str, lons: tuple, lats: tuple) -> tuple:
    """(share of the spot's test points this view's predictions got right, averaged over its replicates; the
    number of points in the spot)."""
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
    """Effect: the lower spot's accuracy minus VERY_ACCURATE; binomial noise over the spot's few points (the seeds
    share them; no run-to-run term, the seeds vary). No per-point predictions: cannot be judged (missing). The best
    cell collapsed: judged (its spot
    accuracy is what it is), the verdict says so; diverged: does not hold."""
    points = facts.get("grid", {}).get("best_points") if isinstance(facts.get("grid"), dict) else None
    if not points:
        raise cannot(f"no per-point test predictions of the best model ({POINTS_FILE}, not written yet)")
    name, cell = _named_cell(facts, "best")
    live(cell, name, True, failing=True)
    spots = {spot: _recall(points, *where) for spot, where in SPOTS.items()}
    low = min(spots, key=lambda s: spots[s][0])
    return Finding(
        spots[low][0] - th.VERY_ACCURATE,
        ", ".join(f"{s}: {fmt(acc)} of {n} test points right" for s, (acc, n) in spots.items()),
        {f"{s.lower()}_acc": acc for s, (acc, _) in spots.items()},
        binomial=binomial(spots[low]),
        sides=0,  # test-point noise only: every seed is a run of its own, no single-run side
        note=note(cell),
    )


# --- 1.2.2 The worst model -----------------------------------------------------------------------------------------
@claim(
    "worst_losses_close",
    "1.2.2",
    f"The worst model does not overfit by its losses: over the last epochs its test and validation losses are each "
    f"within {LOSS_NEAR:.0%} of its train loss.",
    "The model did not seem to overfit, considering the losses on the Test and Validation sets converge closely to "
    "the Training set's losses",
)
def worst_losses_close(facts: dict, th) -> Finding:
    """Effect: LOSS_NEAR minus the larger relative gap over the last epochs. No history: cannot be judged; diverged
    or collapsed: does not hold (one-class losses are close for no reason the course gives)."""
    return _loss_finding(facts, "worst", th)


def _chance(facts: dict) -> float:
    """The accuracy of guessing the largest class: grid.largest_share, else the best model's test points' share."""
    grid = get(facts, "grid")
    if grid.get("largest_share") is not None:
        return number(grid["largest_share"], "grid.largest_share")
    countries = (grid.get("best_points") or {}).get("country")
    if not countries:
        raise cannot("no largest class share (grid.largest_share) and no test points to count it from")
    return max(countries.count(c) for c in set(countries)) / len(countries)


@claim(
    "worst_not_too_inaccurate",
    "1.2.2",
    f"The worst model is not too inaccurate next to the best: its test accuracy keeps at least "
    f"{NOT_TOO_INACCURATE:.0%} of the best model's lead over guessing the largest class.",
    "the decision boundaries are looking good, not too inaccurate, especially when compared to the best model from Q1",
)
def worst_not_too_inaccurate(facts: dict, th) -> Finding:
    """Effect: the share of the best's lead over guessing that the worst keeps, minus NOT_TOO_INACCURATE. The worst
    diverged or collapsed: does not hold (its boundaries are not 'looking good'); the best diverged or collapsed:
    the seed is dropped; the best no better than guessing, or no class share: cannot be judged."""
    (worst_name, worst), (best_name, best) = _named_cell(facts, "worst"), _named_cell(facts, "best")
    low, high = _accs(worst, worst_name, True)["test"], _accs(best, best_name, False)["test"]
    chance = _chance(facts)
    if high <= chance:
        raise cannot(f"the best cell {best_name} (test accuracy {high:g}) is no better than guessing ({chance:g})")
    kept = (low - chance) / (high - chance)
    return Finding(
        kept - th.NOT_TOO_INACCURATE,
        f"test accuracy: worst {worst_name} {fmt(low)}, best {best_name} {fmt(high)}, guessing {fmt(chance)}",
        {"worst_test_acc": low, "best_test_acc": high, "chance": chance, "lead_kept": kept},
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
    """Effect: the smallest of the three margins (accuracy). The worst and the best the same cell, or missing: cannot
    be judged; the best diverged or collapsed: the seed is dropped; the worst diverged: does not hold; the worst
    collapsed: judged (underfitting is the failure the course describes), the verdict says so."""
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
    """Effect: the deeper cells' lowest validation accuracy minus depth 1's lowest. A deeper cell diverged or
    collapsed: the seed is dropped; a depth-1 cell diverged: does not hold; collapsed: judged (the worst failing is
    what the course describes); missing: cannot be judged."""
    acc = {
        n: (c.get("depth"), _accs(c, n, c.get("depth") == 1, failing=c.get("depth") == 1)["validation"])
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


# --- 1.2.3 Depth -----------------------------------------------------------------------------------------------------
@claim(
    "shallow_below_deep",
    "1.2.3",
    f"Depths {SHALLOW_DEPTHS[0]} and {SHALLOW_DEPTHS[1]} are below depths {DEEP_DEPTHS[0]} and {DEEP_DEPTHS[1]}: "
    "the max of their validation accuracies is below the min of the deep ones' (at the depth slice's width).",
    "the accuracies of the lowest depths (specifically 1 and 2, marked in blue and red), are lower than that of "
    "the higher depths",
)
def shallow_below_deep(facts: dict, th) -> Finding:
    """Effect: the deep ones' min minus the shallow ones' max. Any cell missing: cannot be judged; a deep cell
    diverged or collapsed: does not hold; a shallow one: the seed is dropped (lower than a learner, vacuously)."""
    acc = {d: _depth_acc(facts, d, d in DEEP_DEPTHS) for d in DEEP_DEPTHS + SHALLOW_DEPTHS}
    return Finding(
        min(acc[d] for d in DEEP_DEPTHS) - max(acc[d] for d in SHALLOW_DEPTHS),
        "validation accuracy: " + ", ".join(f"depth {d}: {fmt(acc[d])}" for d in SHALLOW_DEPTHS + DEEP_DEPTHS),
        {f"validation_acc_d{d}": v for d, v in acc.items()},
    )


@claim(
    "depth10_no_gain",
    "1.2.3",
    f"Depth {DEEP_DEPTHS[1]} decays slightly: its validation accuracy is below depth {DEEP_DEPTHS[0]}'s (at the depth "
    "slice's width).",
    "looking at Depth 10 we can see that there might be slight decay in accuracy",
)
def depth10_no_gain(facts: dict, th) -> Finding:
    """Effect: depth 6's validation accuracy minus depth 10's (the decay; a gain is negative). Depth 10 diverged or
    collapsed: does not hold (a collapse is no slight decay); depth 6 diverged or collapsed: the seed is dropped;
    missing: cannot be judged."""
    deep = _depth_acc(facts, DEEP_DEPTHS[1], True)
    shallow = _depth_acc(facts, DEEP_DEPTHS[0], False)
    return Finding(
        shallow - deep,
        f"validation accuracy: depth {DEEP_DEPTHS[0]} {fmt(shallow)}, depth {DEEP_DEPTHS[1]} {fmt(deep)}",
        {"validation_acc_shallower": shallow, "validation_acc_deeper": deep, "decay": shallow - deep},
    )


# --- 1.2.4 Width -----------------------------------------------------------------------------------------------------
@claim(
    "width32_sweet_spot",
    "1.2.4",
    f"Width {SWEET_WIDTH} is the sweet spot at the width slice's depth: higher train, validation and test accuracy "
    "than every other width.",
    "We can see a sweet-spot hanging over the Width of 32, with it being with best overall results for all the "
    "datasets",
)
def width32_sweet_spot(facts: dict, th) -> Finding:
    """Effect: its smallest lead over another width on any split (accuracy). Width 32 diverged or collapsed: does
    not hold; another width diverged or collapsed: the seed is dropped; absent: cannot be judged."""
    depth, acc = _width_accs(facts, SWEET_WIDTH)
    sweet = acc.pop(SWEET_WIDTH)
    lead = {s: min(sweet[s] - o[s] for o in acc.values()) for s in _SPLITS}
    return Finding(
        min(lead.values()),
        f"width {SWEET_WIDTH}'s lead over the best other width at depth {depth}: "
        + ", ".join(f"{s} {fmt(v)}" for s, v in lead.items()),
        {"depth": depth, **{f"{s}_acc": sweet[s] for s in _SPLITS}, **{f"{s}_lead": v for s, v in lead.items()}},
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
    not hold (it fitted nothing); another width diverged or collapsed: the seed is dropped; absent: cannot be judged."""
    depth, acc = _width_accs(facts, OVERFIT_WIDTH)
    gap = {w: a["train"] - max(a["validation"], a["test"]) for w, a in acc.items()}
    others = max(g for w, g in gap.items() if w != OVERFIT_WIDTH)
    return Finding(
        min(gap[OVERFIT_WIDTH] - th.ACC_GAP, gap[OVERFIT_WIDTH] - others),
        f"train minus the higher of validation/test accuracy at depth {depth}: "
        + ", ".join(f"width {w}: {fmt(g)}" for w, g in gap.items()),
        {"depth": depth, **{f"gap_w{w}": g for w, g in gap.items()}},
    )


@functools.lru_cache(maxsize=4)
def _edge_distance(long: tuple, lat: tuple, country: tuple) -> np.ndarray:
    """Each point's distance (degrees, longitude scaled by cos latitude) to the nearest point of another country."""
    lon, la = np.radians(np.asarray(long, float)), np.radians(np.asarray(lat, float))
    xyz = np.stack([np.cos(la) * np.cos(lon), np.cos(la) * np.sin(lon), np.sin(la)], axis=1)
    labels = np.unique(np.asarray(country, dtype=object), return_inverse=True)[1]
    nearest = np.empty(len(labels))
    for start in range(0, len(labels), CHUNK):
        block = slice(start, start + CHUNK)
        chord = ((xyz[block, None, :] - xyz[None, :, :]) ** 2).sum(axis=-1)
        chord[labels[block, None] == labels[None, :]] = np.inf
        nearest[block] = chord.min(axis=1)
    return np.degrees(2 * np.arcsin(np.minimum(np.sqrt(nearest) / 2, 1.0)))


def _cell_points(facts: dict, name: str) -> dict:
    """A grid cell's per-point test predictions in this view: grid.points[name] (the evaluate stage writes the width
    slice's), or the best model's points when the cell is the best."""
    grid = get(facts, "grid")
    points = (grid.get("points") or {}).get(name) or (grid.get("best_points") if grid.get("best") == name else None)
    if not points:
        raise cannot(
            f"no per-point test predictions of {name} (the evaluate stage writes the best model's, {POINTS_FILE}, "
            "and each width-slice cell's, plots/evaluate/<cell>_test_predictions.csv)"
        )
    return points


@claim(
    "width64_edge_errors",
    "1.2.4",
    f"Width {OVERFIT_WIDTH}'s test errors lie on the edge: its misclassified test points are nearer to a point of "
    "another country than its correctly classified ones (median distances).",
    "thus creating the effect of misclassifying samples which are “on the edge”",
)
def width64_edge_errors(facts: dict, th) -> Finding:
    """Effect: log10 of the correct points' median distance to another country over the misclassified ones'
    (decades; > 0: errors nearer the edge). Width 64 diverged or collapsed: does not hold; no per-point predictions
    of it: cannot be judged (missing); no error, or nothing right: does not hold (no edge to speak of)."""
    depth, cells = _width_cells(facts, OVERFIT_WIDTH)
    name, cell = cells[OVERFIT_WIDTH]
    _accs(cell, name, True)
    points = _cell_points(facts, name)
    truth = tuple(points.get("country") or ())
    distance = _edge_distance(tuple(points.get("long") or ()), tuple(points.get("lat") or ()), truth)
    predicted = [r["predicted"] for r in points["replicates"]] if "replicates" in points else [points["predicted"]]
    wrong = np.mean([np.asarray(p, dtype=object) != np.asarray(truth, dtype=object) for p in predicted], axis=0) > 0.5
    if wrong.all() or not wrong.any():
        raise fails(f"{name} got {'every' if wrong.all() else 'no'} test point wrong: no errors on an edge")
    right_d, wrong_d = float(np.median(distance[~wrong])), float(np.median(distance[wrong]))
    return Finding(
        math.log10(max(right_d, 1e-9) / max(wrong_d, 1e-9)),
        f"{name}: median distance to another country's point {fmt(wrong_d)} degrees for its {int(wrong.sum())} "
        f"misclassified test points, {fmt(right_d)} for the {int((~wrong).sum())} right",
        {"misclassified_median_distance": wrong_d, "right_median_distance": right_d, "misclassified": int(wrong.sum())},
    )
