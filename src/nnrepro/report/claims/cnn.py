"""2.1-2.2 CNN baselines: scratch, linear probe, fine-tuning and XGBoost over the learning-rate sweep, the course's
table of best and worst learning rates, and its best and worst picks. Scratch and fine-tune cells run one seed by
default (cnn.seeds), the linear probe several (cnn.probe_seeds): a claim that can involve a probe cell is judged
in each probe seed (over=CNN), its noise the larger of the seeds' standard error and the binomial standard error of
the accuracies compared; the others are one run each, their noise binomial."""

import math

from nnrepro import selection
from nnrepro.report.claims.core import CNN, COLLAPSED, ONE, Finding, cannot, claim, fmt
from nnrepro.report.claims.reading import binomial, get, live, note, number

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
LOW_LR = 1e-3  # a "low" CNN learning rate: at most 1e-3 (the course's best fine-tune lr is 1e-4)
HIGH_LR = 1e-2  # the "higher LRs" of the CNN sweep: at least 1e-2 (the course's 0.1 and 0.01)
NEAR_CHANCE = 0.10  # "near chance": within 10 points of 0.5 (the course's scratch cells span 0.49 to 0.5675)
ON_PAR = 0.025  # "on par": within 2.5 points, ~one standard error of an accuracy near 0.7 on 400 test images
THRESHOLDS = ("LOW_LR", "HIGH_LR", "NEAR_CHANCE", "ON_PAR")
CHANCE = 0.5  # two balanced classes, real and fake faces
TABLE = ("scratch", "probe", "finetune")  # the course's table rows, each with its best and worst learning rate


def _baseline(facts: dict, name: str) -> dict:
    return {float(lr): cell for lr, cell in get(facts, "cnn", "cells", name).items()}


def _trained(cell: dict) -> bool:
    return not cell.get("diverged") and all(
        cell.get(k) is not None and math.isfinite(cell[k]) for k in ("validation_acc", "test_acc")
    )


def _best(facts: dict, name: str) -> tuple:
    """(lr, cell) as selection.best chooses it (the cnn_evaluate stage's choice); no trained cell: cannot be judged."""
    cells = _baseline(facts, name)
    cell = selection.best(list(cells.values()))
    lr = next(lr for lr, candidate in cells.items() if candidate is cell)
    if not _trained(cell):
        raise cannot(f"no {name} cell trained (all diverged or missing accuracies)")
    return lr, cell


def _noise(facts: dict, split: str, *accuracies: float):
    """Binomial standard error of the difference of these accuracies on `split`; None when its size is unknown."""
    n = (get(facts, "cnn").get("n_images") or {}).get(split)
    return binomial(*((a, n) for a in accuracies)) if n else None


def _group_best(cells: dict, keep, name: str) -> tuple:
    """(lr, cell) of the highest validation accuracy among the trained cells whose lr passes `keep`."""
    chosen = {lr: c for lr, c in cells.items() if keep(lr) and _trained(c)}
    if not chosen:
        raise cannot(f"no trained {name} cell on one side of the comparison (low or high lr)")
    lr = max(chosen, key=lambda r: (chosen[r]["validation_acc"], chosen[r]["test_acc"], -r))
    return lr, chosen[lr]


def _low_vs_high(facts: dict, name: str, low_wins: bool, th) -> Finding:
    """Effect: the winning side's best validation accuracy minus the other side's (low: lr <= LOW_LR, high: the
    rest). Its best cell collapsed: does not hold; the other side's best collapsed: judged (the course saw it fail)."""
    cells = _baseline(facts, name)
    rest = (lambda lr: lr > th.LOW_LR) if low_wins else (lambda lr: lr >= th.HIGH_LR)
    low, high = _group_best(cells, lambda lr: lr <= th.LOW_LR, name), _group_best(cells, rest, name)
    win, lose = (low, high) if low_wins else (high, low)
    live(win[1], f"{name} lr {win[0]:g}", True)
    v_win, v_lose = win[1]["validation_acc"], lose[1]["validation_acc"]
    return Finding(
        v_win - v_lose,
        f"{name} best validation accuracy: lr {win[0]:g} {fmt(v_win)}, lr {lose[0]:g} {fmt(v_lose)}",
        {"lr": win[0], "validation_acc": v_win, "other_lr": lose[0], "other_validation_acc": v_lose},
        binomial=_noise(facts, "validation", v_win, v_lose),
        note=note(lose[1]),
    )


@claim(
    "finetune_best_low_lr",
    "2.1",
    f"Fine-tuning is best at a low learning rate: its best cell at lr <= {LOW_LR:g} beats every other lr on "
    "validation accuracy.",
    "the higher LRs modifying the pretrained ResNet in the Fine-Tuning model, to an undesirable degree",
    over=ONE,
)
def finetune_best_low_lr(facts: dict, th) -> Finding:
    """As _low_vs_high; no trained cell at a low or at a higher lr: cannot be judged."""
    return _low_vs_high(facts, "finetune", True, th)


@claim(
    "probe_best_high_lr",
    "2.1",
    f"The linear probe is best at a high learning rate: its best cell at lr >= {HIGH_LR:g} beats every cell at "
    f"lr <= {LOW_LR:g} on validation accuracy.",
    "thus a single-layer optimization is more effective with the higher LRs",
    over=CNN,
)
def probe_best_high_lr(facts: dict, th) -> Finding:
    """As _low_vs_high; no trained cell at a low or at a high lr: cannot be judged."""
    return _low_vs_high(facts, "probe", False, th)


@claim(
    "probe_beats_finetune_high_lr",
    "2.1",
    f"The linear probe beats fine-tuning at every high learning rate (>= {HIGH_LR:g}) both ran: higher test accuracy.",
    "We can see that the Linear Probing performs better than the Fine-Tuning when both use higher LRs",
    over=CNN,
)
def probe_beats_finetune_high_lr(facts: dict, th) -> Finding:
    """Effect: the smallest lead (test points). A probe cell diverged or collapsed: does not hold; a fine-tune cell
    diverged: cannot be judged; collapsed: judged (the course saw it 'highly inaccurate'); no shared high lr: cannot."""
    probe, tune = _baseline(facts, "probe"), _baseline(facts, "finetune")
    lrs = sorted((lr for lr in set(probe) & set(tune) if lr >= th.HIGH_LR), reverse=True)
    if not lrs:
        raise cannot(f"no lr >= {th.HIGH_LR:g} in both the probe and the fine-tune cells")
    acc = {
        lr: [
            number(
                live(c, f"{n} lr {lr:g}", n == "probe", failing=n == "finetune").get("test_acc"),
                f"{n} lr {lr:g} test accuracy",
            )
            for n, c in (("probe", probe[lr]), ("finetune", tune[lr]))
        ]
        for lr in lrs
    }
    lr = min(acc, key=lambda r: acc[r][0] - acc[r][1])
    return Finding(
        acc[lr][0] - acc[lr][1],
        "test accuracy probe/fine-tune: " + ", ".join(f"lr {r:g}: {fmt(p)}/{fmt(t)}" for r, (p, t) in acc.items()),
        {
            **{f"probe_test_acc_lr{r:g}": p for r, (p, _) in acc.items()},
            **{f"finetune_test_acc_lr{r:g}": t for r, (_, t) in acc.items()},
        },
        binomial=_noise(facts, "test", *acc[lr]),
        note=note(*(tune[r] for r in lrs)),
    )


@claim(
    "probe_beats_scratch",
    "2.1",
    "The linear probe beats training from scratch: the best probe (by validation accuracy) has a higher test "
    "accuracy than the best scratch model.",
    "The Linear Probing model also performing better than the Training from Scratch is also not a surprise",
    over=CNN,
)
def probe_beats_scratch(facts: dict, th) -> Finding:
    """Effect: the test accuracy difference. Either baseline without a trained cell: cannot be judged; the probe
    collapsed: does not hold; scratch collapsed: judged (the course's scratch models were weak), the verdict says so."""
    (p_lr, probe), (s_lr, scratch) = _best(facts, "probe"), _best(facts, "scratch")
    live(probe, f"probe lr {p_lr:g}", True)
    return Finding(
        probe["test_acc"] - scratch["test_acc"],
        f"test accuracy: probe (lr {p_lr:g}) {fmt(probe['test_acc'])}, scratch (lr {s_lr:g}) "
        f"{fmt(scratch['test_acc'])}",
        {
            "probe_lr": p_lr,
            "probe_test_acc": probe["test_acc"],
            "scratch_lr": s_lr,
            "scratch_test_acc": scratch["test_acc"],
        },
        binomial=_noise(facts, "test", probe["test_acc"], scratch["test_acc"]),
        note=note(scratch),
    )


@claim(
    "scratch_near_chance",
    "2.1",
    f"Training from scratch stays near chance: every scratch cell's test accuracy is within {NEAR_CHANCE:g} of "
    f"{CHANCE:g}.",
    "a single-epoch trained model we've built from scratch",
    over=ONE,
)
def scratch_near_chance(facts: dict, th) -> Finding:
    """Effect: NEAR_CHANCE minus the largest distance from chance. Any scratch cell diverged or without accuracy:
    cannot be judged. Collapsed cells: judged (chance is the failure the course describes), the verdict says so."""
    cells = dict(sorted(_baseline(facts, "scratch").items(), reverse=True))
    acc = {
        lr: number(
            live(c, f"scratch lr {lr:g}", False, "it has no accuracy", failing=True).get("test_acc"),
            f"scratch lr {lr:g} test accuracy",
        )
        for lr, c in cells.items()
    }
    far = max(acc, key=lambda lr: abs(acc[lr] - CHANCE))
    return Finding(
        th.NEAR_CHANCE - abs(acc[far] - CHANCE),
        "scratch test accuracy: " + ", ".join(f"lr {lr:g}: {fmt(a)}" for lr, a in acc.items()),
        {**{f"test_acc_lr{lr:g}": a for lr, a in acc.items()}, "largest_distance": abs(acc[far] - CHANCE)},
        binomial=_noise(facts, "test", acc[far]),
        note=note(*cells.values()),
    )


@claim(
    "xgboost_vs_probe",
    "2.1",
    f"XGBoost on pixels is on par with or above the best linear probe: its test accuracy at most {ON_PAR:g} below "
    "the probe's (course: 0.73 vs 0.7125).",
    "with the XGBoost having a single best, as we are using only the default parameters",
    over=CNN,
)
def xgboost_vs_probe(facts: dict, th) -> Finding:
    """Effect: ON_PAR plus XGBoost's lead. XGBoost's accuracy missing, or no trained probe cell: cannot be judged;
    XGBoost collapsed: does not hold; the probe collapsed: cannot be judged."""
    xgboost = live(get(facts, "cnn", "xgboost"), "XGBoost", True)
    boost = number(xgboost.get("test_acc"), "XGBoost's test accuracy")
    lr, probe = _best(facts, "probe")
    live(probe, f"probe lr {lr:g}", False)
    return Finding(
        boost - probe["test_acc"] + th.ON_PAR,
        f"test accuracy: XGBoost {fmt(boost)}, best probe (lr {lr:g}) {fmt(probe['test_acc'])}",
        {"xgboost_test_acc": boost, "probe_lr": lr, "probe_test_acc": probe["test_acc"]},
        binomial=_noise(facts, "test", boost, probe["test_acc"]),
    )


@claim(
    "finetune_best_overall",
    "2.1",
    "The best fine-tuned model is the best model overall: higher test accuracy than the best probe, the best "
    "scratch model and XGBoost.",
    "The best performing model is with the Fine-Tuning baseline",
    over=CNN,
)
def finetune_best_overall(facts: dict, th) -> Finding:
    """Effect: its lead over the runner-up. Any baseline without a trained cell, or XGBoost's accuracy missing: cannot
    be judged; the best fine-tuned cell collapsed: does not hold; a rival collapsed: judged, the verdict says so when
    the runner-up collapsed."""
    best = {n: _best(facts, n)[1] for n in ("finetune", "probe", "scratch")}
    best["xgboost"] = get(facts, "cnn", "xgboost")
    acc = {n: number(c.get("test_acc"), f"{n}'s best test accuracy") for n, c in best.items()}
    live(best["finetune"], "the best fine-tuned cell", True)
    rival = max((n for n in acc if n != "finetune"), key=lambda n: acc[n])
    return Finding(
        acc["finetune"] - acc[rival],
        "best test accuracy: " + ", ".join(f"{n} {fmt(a)}" for n, a in acc.items()),
        {f"{n}_test_acc": a for n, a in acc.items()},
        binomial=_noise(facts, "test", acc["finetune"], acc[rival]),
        note=note(best[rival]),
    )


# --- The course's table (2.1) and picks (2.2) ------------------------------------------------------------------------
def _course_cell(facts: dict, baseline: str, lr) -> dict:
    cells = _baseline(facts, baseline)
    if lr is None or float(lr) not in cells:
        raise cannot(f"the course's {baseline} lr {lr} is not among our {baseline} cells")
    return cells[float(lr)]


def _table_check(baseline: str, rank: str):
    def table_lr(facts: dict, th) -> Finding:
        """Effect: the course's cell's validation lead over the best other lr (best) or the other lrs' lowest lead
        over it (worst). Any cell diverged or missing: cannot be judged; every cell collapsed: cannot be judged (a tie
        of one-class predictors); the course's best cell collapsed: does not hold; its worst collapsed: judged."""
        lr = (get(facts, "course", "2.1", baseline).get(rank) or [None])[0]
        cells = _baseline(facts, baseline)
        if not all(_trained(c) for c in cells.values()):
            raise cannot(f"a {baseline} cell diverged or lacks an accuracy: no full ranking")
        if all(c.get("collapsed") for c in cells.values()):
            raise cannot(f"every {baseline} cell collapsed (one class predicted): their order is a tie", COLLAPSED)
        ours = live(_course_cell(facts, baseline, lr), f"{baseline} lr {lr}", True, failing=rank == "worst")
        others = [c["validation_acc"] for r, c in cells.items() if r != float(lr)]
        rival = max(others) if rank == "best" else min(others)
        lead = (ours["validation_acc"] - rival) * (1 if rank == "best" else -1)
        return Finding(
            lead,
            f"{baseline} validation accuracy at the course's {rank} lr {lr}: "
            f"{fmt(ours['validation_acc'])}; {'best' if rank == 'best' else 'worst'} other lr "
            f"{fmt(rival)}",
            {"lr": float(lr), "validation_acc": ours["validation_acc"], "rival_validation_acc": rival},
            binomial=_noise(facts, "validation", ours["validation_acc"], rival),
            note=note(ours),
        )

    return table_lr


for _baseline_name in TABLE:
    for _rank in ("best", "worst"):
        claim(
            f"table_{_baseline_name}_{_rank}_lr",
            "2.1",
            f"The course's table: {_baseline_name}'s {_rank} learning rate (by validation accuracy) is the course's.",
            "Below is a table for the best and worst models, in pairs of Learning Rate and Test Accuracy, for each "
            "baseline",
            over=CNN if _baseline_name == "probe" else ONE,
        )(_table_check(_baseline_name, _rank))


@claim(
    "best_pick",
    "2.2",
    "The best model of all is the course's pick (fine-tuning at lr 0.0001): the highest validation accuracy of "
    "every CNN cell.",
    "the best baseline being the Fine-Tuning with LR 0.0001",
    over=CNN,
)
def best_pick(facts: dict, th) -> Finding:
    """Effect: its validation lead over the best other cell. The course's pick missing or diverged: cannot be judged;
    collapsed: does not hold. Diverged cells are no rivals (selection ranks them last)."""
    baseline, lr = get(facts, "course", "2.2", "best")
    pick = _course_cell(facts, baseline, lr)
    if not _trained(pick):
        raise cannot(f"the course's pick {baseline} lr {lr} diverged or lacks an accuracy")
    live(pick, f"{baseline} lr {lr}", True)
    rivals = [
        (n, r, c["validation_acc"])
        for n in get(facts, "cnn", "cells")
        for r, c in _baseline(facts, n).items()
        if _trained(c) and (n, r) != (baseline, float(lr))
    ]
    if not rivals:
        raise cannot("no other trained CNN cell")
    name, r, acc = max(rivals, key=lambda x: x[2])
    return Finding(
        pick["validation_acc"] - acc,
        f"validation accuracy: {baseline} lr {lr} {fmt(pick['validation_acc'])}; best other {name} lr {r:g} {fmt(acc)}",
        {"validation_acc": pick["validation_acc"], "rival_validation_acc": acc},
        binomial=_noise(facts, "validation", pick["validation_acc"], acc),
    )


@claim(
    "worst_pick",
    "2.2",
    "The worst baseline is the course's pick (from scratch, its best cell at lr 0.001): its best cell is below "
    "every other baseline's best, and lr 0.001 is its best.",
    "the worst baseline being the From-Scratch with LR 0.001",
    over=CNN,
)
def worst_pick(facts: dict, th) -> Finding:
    """Effect: the smaller of its best cell's deficit to the other baselines' bests and lr 0.001's lead within it
    (validation points). Its cells collapsed: judged (the worst failing is the course's picture), the verdict says so;
    a rival baseline without a trained cell: cannot be judged."""
    baseline, lr = get(facts, "course", "2.2", "worst")
    ours = _course_cell(facts, baseline, lr)
    if not _trained(ours):
        raise cannot(f"the course's pick {baseline} lr {lr} diverged or lacks an accuracy")
    rivals = {n: _best(facts, n)[1]["validation_acc"] for n in get(facts, "cnn", "cells") if n != baseline}
    inside = [c["validation_acc"] for r, c in _baseline(facts, baseline).items() if r != float(lr) and _trained(c)]
    if not rivals or not inside:
        raise cannot(f"no other baseline, or no other {baseline} cell, to compare with")
    below, lead = min(rivals.values()) - ours["validation_acc"], ours["validation_acc"] - max(inside)
    binding = min(rivals.values()) if below < lead else max(inside)
    return Finding(
        min(below, lead),
        f"{baseline} lr {lr} validation accuracy {fmt(ours['validation_acc'])}; the "
        f"other baselines' best at least {fmt(min(rivals.values()))}; its other lrs at "
        f"most {fmt(max(inside))}",
        {
            "validation_acc": ours["validation_acc"],
            "rivals_min_validation_acc": min(rivals.values()),
            "inside_max_validation_acc": max(inside),
        },
        binomial=_noise(facts, "validation", ours["validation_acc"], binding),
        note=note(*_baseline(facts, baseline).values()),
    )
