"""2.1 CNN baselines: scratch, linear probe, fine-tuning and XGBoost over the learning-rate sweep."""

import math

from nnrepro import selection
from nnrepro.report.claims.core import cannot, claim, fails, fmt, get, live, number

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
LOW_LR = 1e-3              # a "low" CNN learning rate: at most 1e-3 (the course's best fine-tune lr is 1e-4)
HIGH_LR = 1e-2             # the "higher LRs" of the CNN sweep: at least 1e-2 (the course's 0.1 and 0.01)
CHANCE = 0.5               # two balanced classes, real and fake faces
NEAR_CHANCE = 0.10         # "near chance": within 10 points of 0.5 (the course's scratch cells span 0.49 to 0.5675)
ON_PAR = 0.025             # "on par": within 2.5 points, ~one standard error of an accuracy near 0.7 on 400 test images


def _baseline(facts: dict, name: str) -> dict:
    return {float(lr): cell for lr, cell in get(facts, "cnn", "cells", name).items()}


def _trained(cell: dict) -> bool:
    return not cell.get("diverged") and all(
        cell.get(k) is not None and math.isfinite(cell[k]) for k in ("validation_acc", "test_acc"))


def _best(facts: dict, name: str) -> tuple:
    """(lr, cell) as selection.best chooses it (the cnn_evaluate stage's choice); no trained cell: cannot be judged."""
    cells = _baseline(facts, name)
    cell = selection.best(list(cells.values()))
    lr = next(lr for lr, candidate in cells.items() if candidate is cell)
    if not _trained(cell):
        raise cannot(f"no {name} cell trained (all diverged or missing accuracies)")
    return lr, cell


def _both_sides(facts: dict, name: str) -> dict:
    """The trained cells of a baseline, when some are at most LOW_LR and some at least HIGH_LR."""
    cells = {lr: c for lr, c in _baseline(facts, name).items() if _trained(c)}
    if not any(lr <= LOW_LR for lr in cells) or not any(lr >= HIGH_LR for lr in cells):
        raise cannot(f"{name} lacks a trained cell at a low (<= {LOW_LR:g}) or a high (>= {HIGH_LR:g}) lr")
    return cells


@claim("finetune_best_low_lr", "2.1",
        f"Fine-tuning is best at a low learning rate: its best cell by validation accuracy has lr <= {LOW_LR:g}.")
def finetune_best_low_lr(facts: dict, numbers: dict) -> tuple:
    """Diverged cells cannot be chosen; no trained cell at a low and at a high lr: cannot be judged."""
    _both_sides(facts, "finetune")
    lr, cell = _best(facts, "finetune")
    numbers.update(lr=lr, validation_acc=cell["validation_acc"], test_acc=cell["test_acc"])
    return lr <= LOW_LR, (f"fine-tune best at lr {lr:g} (validation {fmt(cell['validation_acc'])}, "
                          f"test {fmt(cell['test_acc'])})")


@claim("probe_best_high_lr", "2.1",
        f"The linear probe is best at a high learning rate: its best cell by validation accuracy has lr >= "
        f"{HIGH_LR:g} and strictly beats every cell at lr <= {LOW_LR:g}.")
def probe_best_high_lr(facts: dict, numbers: dict) -> tuple:
    """Diverged cells cannot be chosen; no trained cell at a low and at a high lr: cannot be judged."""
    cells = _both_sides(facts, "probe")
    lr, cell = _best(facts, "probe")
    low = max(c["validation_acc"] for r, c in cells.items() if r <= LOW_LR)
    numbers.update(lr=lr, validation_acc=cell["validation_acc"], test_acc=cell["test_acc"],
                   best_low_lr_validation_acc=low)
    return (lr >= HIGH_LR and cell["validation_acc"] > low,
            f"probe best at lr {lr:g} (validation {fmt(cell['validation_acc'])}); best low-lr validation {fmt(low)}")


@claim("probe_beats_finetune_high_lr", "2.1",
        f"The linear probe beats fine-tuning at every high learning rate (>= {HIGH_LR:g}) both ran: higher test "
        "accuracy.")
def probe_beats_finetune_high_lr(facts: dict, numbers: dict) -> tuple:
    """A probe cell diverged: does not hold; a fine-tune cell diverged: cannot be judged; no shared high lr: cannot."""
    probe, tune = _baseline(facts, "probe"), _baseline(facts, "finetune")
    lrs = sorted((lr for lr in set(probe) & set(tune) if lr >= HIGH_LR), reverse=True)
    if not lrs:
        raise cannot(f"no lr >= {HIGH_LR:g} in both the probe and the fine-tune cells")
    acc = {}
    for lr in lrs:
        if probe[lr].get("diverged"):
            raise fails(f"the probe at lr {lr:g} diverged")
        acc[lr] = [number(c.get("test_acc"), f"{n} lr {lr:g} test accuracy")
                   for n, c in (("probe", probe[lr]), ("finetune", live(tune[lr], f"finetune lr {lr:g}", False)))]
    for lr, (p, t) in acc.items():
        numbers.update({f"probe_test_acc_lr{lr:g}": p, f"finetune_test_acc_lr{lr:g}": t})
    return (all(p > t for p, t in acc.values()),
            "test accuracy probe/fine-tune: " + ", ".join(f"lr {lr:g}: {fmt(p)}/{fmt(t)}"
                                                          for lr, (p, t) in acc.items()))


@claim("probe_beats_scratch", "2.1",
        "The linear probe beats training from scratch: the best probe (by validation accuracy) has a higher test "
        "accuracy than the best scratch model.")
def probe_beats_scratch(facts: dict, numbers: dict) -> tuple:
    """Either baseline without a trained cell: cannot be judged."""
    (p_lr, probe), (s_lr, scratch) = _best(facts, "probe"), _best(facts, "scratch")
    numbers.update(probe_lr=p_lr, probe_test_acc=probe["test_acc"], scratch_lr=s_lr,
                   scratch_test_acc=scratch["test_acc"])
    return (probe["test_acc"] > scratch["test_acc"],
            f"test accuracy: probe (lr {p_lr:g}) {fmt(probe['test_acc'])}, "
            f"scratch (lr {s_lr:g}) {fmt(scratch['test_acc'])}")


@claim("scratch_near_chance", "2.1",
        f"Training from scratch stays near chance: every scratch cell's test accuracy is within {NEAR_CHANCE:g} of "
        f"{CHANCE:g}.")
def scratch_near_chance(facts: dict, numbers: dict) -> tuple:
    """A claim on every cell: any scratch cell diverged or without accuracy: cannot be judged."""
    acc = {}
    for lr, c in sorted(_baseline(facts, "scratch").items(), reverse=True):
        live(c, f"scratch lr {lr:g}", False, "it has no accuracy")
        acc[lr] = number(c.get("test_acc"), f"scratch lr {lr:g} test accuracy")
    worst = max(abs(a - CHANCE) for a in acc.values())
    numbers.update({f"test_acc_lr{lr:g}": a for lr, a in acc.items()}, largest_distance=worst)
    return worst <= NEAR_CHANCE, "scratch test accuracy: " + ", ".join(f"lr {lr:g}: {fmt(a)}" for lr, a in acc.items())


@claim("xgboost_vs_probe", "2.1",
        f"XGBoost on pixels is on par with or above the best linear probe: its test accuracy at most {ON_PAR:g} "
        "below the probe's (course: 0.73 vs 0.7125).")
def xgboost_vs_probe(facts: dict, numbers: dict) -> tuple:
    """XGBoost's accuracy missing, or no trained probe cell: cannot be judged."""
    boost = number(get(facts, "cnn", "xgboost").get("test_acc"), "XGBoost's test accuracy")
    lr, probe = _best(facts, "probe")
    numbers.update(xgboost_test_acc=boost, probe_lr=lr, probe_test_acc=probe["test_acc"])
    return (boost >= probe["test_acc"] - ON_PAR,
            f"test accuracy: XGBoost {fmt(boost)}, best probe (lr {lr:g}) {fmt(probe['test_acc'])}")


@claim("finetune_best_overall", "2.1",
        "The best fine-tuned model is the best model overall: higher test accuracy than the best probe, the best "
        "scratch model and XGBoost.")
def finetune_best_overall(facts: dict, numbers: dict) -> tuple:
    """Any baseline without a trained cell, or XGBoost's accuracy missing: cannot be judged."""
    best = {n: _best(facts, n) for n in ("finetune", "probe", "scratch")}
    acc = {n: cell["test_acc"] for n, (_, cell) in best.items()}
    acc["xgboost"] = number(get(facts, "cnn", "xgboost").get("test_acc"), "XGBoost's test accuracy")
    numbers.update({f"{n}_test_acc": a for n, a in acc.items()}, finetune_lr=best["finetune"][0])
    return (all(acc["finetune"] > a for n, a in acc.items() if n != "finetune"),
            "best test accuracy: " + ", ".join(f"{n} {fmt(a)}" for n, a in acc.items()))
