"""1.2.1-1.2.4 Evaluating MLPs: the best and worst model, accuracy against depth and width."""

from nnrepro.report.claims.core import cannot, claim, fmt, get, live, number

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
ACC_GAP = 0.03             # "converge quite near" / "did not overfit": train accuracy 3 points or less above val/test
UNDERFIT_MARGIN = 0.05     # "underfitted" next to the best model: validation and train accuracy 5+ points below its
SHALLOW_DEPTHS = (1, 2)    # "the lowest depths (specifically 1 and 2)"
DEEP_DEPTHS = (6, 10)      # "the higher depths" they fall below
NO_GAIN_MARGIN = 0.01      # "slight decay" at depth 10: it beats depth 6 by at most 1 point of validation accuracy
SWEET_WIDTH = 32           # "a sweet-spot hanging over the width of 32"
OVERFIT_WIDTH = 64         # "looking at width 64, we might have a case of overfitting"


_SPLITS = ("train", "validation", "test")


def _accs(cell: dict, label: str) -> dict:
    """split -> final accuracy of a grid cell; diverged or missing: cannot be judged (no accuracies)."""
    if cell.get("diverged"):
        raise cannot(f"{label} diverged: it has no final accuracies")
    return {s: number(cell.get(f"final_{s}_acc"), f"{label}'s final {s} accuracy") for s in _SPLITS}


def _named_cell(facts: dict, which: str) -> tuple:
    name = get(facts, "grid", which)
    return name, get(facts, "grid", "cells", name)


def _cell(facts: dict, depth: int, width: int) -> tuple:
    for name, cell in sorted(get(facts, "grid", "cells").items()):
        if cell.get("depth") == depth and cell.get("width") == width:
            return name, cell
    raise cannot(f"no grid cell with depth {depth} and width {width}")


def _slice(facts: dict, fixed: str, value: int) -> dict:
    """vary -> (name, cell) of the grid cells with depth (or width) fixed at value."""
    vary = "width" if fixed == "depth" else "depth"
    cells = {c.get(vary): (n, c) for n, c in sorted(get(facts, "grid", "cells").items()) if c.get(fixed) == value}
    if len(cells) < 2:
        raise cannot(f"fewer than two grid cells at {fixed} {value}")
    return cells


@claim("best_generalises", "1.2.1",
        f"The best model (by validation accuracy) generalises: its train accuracy is at most {ACC_GAP * 100:g} "
        "points above its validation and test accuracy.")
def best_generalises(facts: dict, numbers: dict) -> tuple:
    """The best cell missing or diverged: cannot be judged (a diverged cell should never be chosen best)."""
    name, cell = _named_cell(facts, "best")
    acc = _accs(cell, name)
    gap = acc["train"] - min(acc["validation"], acc["test"])
    numbers.update(cell=name, **{f"{s}_acc": v for s, v in acc.items()}, gap=gap)
    return gap <= ACC_GAP, (f"{name}: train {fmt(acc['train'])}, validation {fmt(acc['validation'])}, "
                            f"test {fmt(acc['test'])}")


@claim("worst_underfits", "1.2.2",
        f"The worst model underfits: it does not overfit (train at most {ACC_GAP * 100:g} points above validation "
        f"and test), and its validation and train accuracies are each {UNDERFIT_MARGIN * 100:g}+ points below the "
        "best model's.")
def worst_underfits(facts: dict, numbers: dict) -> tuple:
    """Worst or best cell missing, diverged, or the same cell: cannot be judged (a diverged net fits nothing)."""
    (worst_name, worst), (best_name, best) = _named_cell(facts, "worst"), _named_cell(facts, "best")
    if worst_name == best_name:
        raise cannot(f"the best and the worst cell are the same ({worst_name})")
    low, high = _accs(worst, worst_name), _accs(best, best_name)
    gap = low["train"] - min(low["validation"], low["test"])
    numbers.update(cell=worst_name, **{f"{s}_acc": v for s, v in low.items()}, gap=gap,
                   best_validation_acc=high["validation"], best_train_acc=high["train"])
    return (gap <= ACC_GAP and high["validation"] - low["validation"] >= UNDERFIT_MARGIN
            and high["train"] - low["train"] >= UNDERFIT_MARGIN,
            f"{worst_name}: train {fmt(low['train'])}, validation {fmt(low['validation'])}, test "
            f"{fmt(low['test'])}; best {best_name}: train {fmt(high['train'])}, "
            f"validation {fmt(high['validation'])}")


@claim("shallow_below_deep", "1.2.3",
        f"Depths {SHALLOW_DEPTHS[0]} and {SHALLOW_DEPTHS[1]} are below depths {DEEP_DEPTHS[0]} and "
        f"{DEEP_DEPTHS[1]}: the max of their validation accuracies is below the min of the deep ones' (at the depth "
        "slice's width).")
def shallow_below_deep(facts: dict, numbers: dict) -> tuple:
    """Any of the four cells missing or diverged: cannot be judged."""
    width = get(facts, "grid", "depth_slice_width")
    acc = {d: _accs(_cell(facts, d, width)[1], f"depth {d} width {width}")["validation"]
           for d in SHALLOW_DEPTHS + DEEP_DEPTHS}
    numbers.update(width=width, **{f"validation_acc_d{d}": v for d, v in acc.items()})
    return (max(acc[d] for d in SHALLOW_DEPTHS) < min(acc[d] for d in DEEP_DEPTHS),
            f"validation accuracy at width {width}: " + ", ".join(f"depth {d}: {fmt(v)}" for d, v in acc.items()))


@claim("depth10_no_gain", "1.2.3",
        f"Depth {DEEP_DEPTHS[1]} does not beat depth {DEEP_DEPTHS[0]} by more than {NO_GAIN_MARGIN * 100:g} "
        "point of validation accuracy ('slight decay').")
def depth10_no_gain(facts: dict, numbers: dict) -> tuple:
    """Either cell missing or diverged: cannot be judged (not beating a diverged net means nothing)."""
    width = get(facts, "grid", "depth_slice_width")
    shallow, deep = (_accs(_cell(facts, d, width)[1], f"depth {d} width {width}")["validation"] for d in DEEP_DEPTHS)
    numbers.update(width=width, validation_acc_shallower=shallow, validation_acc_deeper=deep, gain=deep - shallow)
    return (deep - shallow <= NO_GAIN_MARGIN,
            f"validation accuracy at width {width}: depth {DEEP_DEPTHS[0]} {fmt(shallow)}, "
            f"depth {DEEP_DEPTHS[1]} {fmt(deep)}")


def _width_slice(facts: dict, width: int) -> tuple:
    """(depth, cells of the width slice) with the claim's width trained there; absent: cannot be judged, diverged:
    does not hold."""
    depth = get(facts, "grid", "width_slice_depth")
    cells = _slice(facts, "depth", depth)
    if width not in cells:
        raise cannot(f"no grid cell with width {width} at depth {depth}")
    live(cells[width][1], f"width {width}", True)
    return depth, cells


@claim("width32_sweet_spot", "1.2.4",
        f"Width {SWEET_WIDTH} is the sweet spot at the width slice's depth: the highest validation accuracy of all "
        "widths, and a test accuracy no lower than any other width's.")
def width32_sweet_spot(facts: dict, numbers: dict) -> tuple:
    """Width 32 diverged: does not hold (it is not the best); another width diverged or absent: cannot be judged."""
    depth, cells = _width_slice(facts, SWEET_WIDTH)
    acc = {w: _accs(c, n) for w, (n, c) in sorted(cells.items())}
    others = [a for w, a in acc.items() if w != SWEET_WIDTH]
    numbers.update(depth=depth, **{f"validation_acc_w{w}": a["validation"] for w, a in acc.items()},
                   **{f"test_acc_w{w}": a["test"] for w, a in acc.items()})
    sweet = acc[SWEET_WIDTH]
    return (all(sweet["validation"] > o["validation"] and sweet["test"] >= o["test"] for o in others),
            f"validation/test accuracy at depth {depth}: "
            + ", ".join(f"width {w}: {fmt(a['validation'])}/{fmt(a['test'])}" for w, a in acc.items()))


@claim("width64_overfits", "1.2.4",
        f"Width {OVERFIT_WIDTH} overfits: its train accuracy is more than {ACC_GAP * 100:g} points above both its "
        "validation and test accuracy, a larger gap than every other width's at that depth.")
def width64_overfits(facts: dict, numbers: dict) -> tuple:
    """Width 64 diverged: does not hold (it fitted nothing); another width diverged or absent: cannot be judged."""
    depth, cells = _width_slice(facts, OVERFIT_WIDTH)
    gap = {}
    for w, (name, cell) in sorted(cells.items()):
        acc = _accs(cell, name)
        gap[w] = acc["train"] - max(acc["validation"], acc["test"])
    others = max(g for w, g in gap.items() if w != OVERFIT_WIDTH)
    numbers.update(depth=depth, **{f"gap_w{w}": g for w, g in gap.items()})
    return (gap[OVERFIT_WIDTH] > ACC_GAP and gap[OVERFIT_WIDTH] > others,
            f"train minus the higher of validation/test accuracy at depth {depth}: "
            + ", ".join(f"width {w}: {fmt(g)}" for w, g in gap.items()))
