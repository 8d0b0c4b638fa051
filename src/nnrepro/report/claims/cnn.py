"""2.1-2.2 CNN baselines: scratch, linear probe, fine-tuning and XGBoost over the learning-rate sweep, the course's
table of best and worst learning rates, and its best and worst picks, in the order of the course's text (its table
comes before the sentences of 2.1). Every claim is judged over the CNN cells'
replicates (over=CNN): view k holds replicate k of every cell, paired by index. A cell with fewer replicates is
empty in the later views, where a claim reading it is missing, and the core judges it on the seeds every cell has:
a claim over cells with different seed counts counts the fewer. A side that is a single run (a cell without
replicates, or XGBoost) gives its binomial standard error, which the core combines with run-to-run noise."""

import math

from nnrepro import selection
from nnrepro.report.claims.core import CNN, COLLAPSED, Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import binomial, get, live, note, number

# Thresholds, each a reading of the course's words (reference/thresholds.yaml says which were set before and which
# after a committed result showed their quantity, and what each re-derived one was before: a value in its unit, or
# the old rule in words).
LOW_LR = 1e-3  # a "low" CNN learning rate: at most 1e-3 (the course's best fine-tune lr is 1e-4)
HIGH_LR = 1e-2  # the "higher LRs" of the CNN sweep: at least 1e-2 (the course's 0.1 and 0.01)
NEAR_CHANCE = 0.1  # "highly inaccurate": a test accuracy within 10 points of chance (0.5) or below it
MUCH_BETTER = 0.1  # "much stronger and accurate": 10+ points of test accuracy above the scratch model
THRESHOLDS = ("LOW_LR", "HIGH_LR", "NEAR_CHANCE", "MUCH_BETTER")
CHANCE = 0.5  # two balanced classes, real and fake faces
TABLE = ("scratch", "probe", "finetune")  # the course's table rows, each with its best and worst learning rate


def _baseline(facts: dict, name: str) -> dict:
    """{lr: cell} of a baseline in this view; a cell without replicate k here (fewer replicates than the probe's) is
    missing, and the core judges the claim on the seeds every cell it reads has (core._paired)."""
    cells = {float(lr): cell for lr, cell in get(facts, "cnn", "cells", name).items()}
    short = [lr for lr, cell in cells.items() if cell == {}]
    if short:
        raise cannot(f"{name} lr {short[0]:g} has fewer replicates than this seed's index: counted over the fewer")
    return cells


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


def _runs(facts: dict, cell: dict) -> int:
    """How many replicates a cell ran: its `runs`, else its row of the cnn_evaluate selection (views keep the mean's
    rows whole), else 1."""
    if cell.get("runs"):
        return int(cell["runs"])
    rows = ((get(facts, "cnn").get("selection") or {}).get("cells")) or []
    row: dict = next((r for r in rows if r.get("cell") is not None and r.get("cell") == cell.get("cell")), {})
    return len(row.get("replicates") or [row])


def _single_run_noise(facts: dict, split: str, *sides: tuple) -> dict:
    """{binomial, sides} for Finding: the binomial standard error of the sides (accuracy, cell) that are single runs
    (the seeds do not vary them: XGBoost, a cell of one replicate) and how many there are, each of which the core
    gives run-to-run noise; nothing when every side is replicated or the split's size is unknown."""
    n = (get(facts, "cnn").get("n_images") or {}).get(split)
    single = [(acc, n) for acc, cell in sides if _runs(facts, cell) == 1]
    return {"binomial": binomial(*single), "sides": len(single)} if n and single else {}


def _group_best(cells: dict, keep, name: str, subject: bool) -> tuple:
    """(lr, cell) of the highest validation accuracy among the trained cells whose lr passes `keep`. No cell there:
    cannot be judged (missing); every one diverged: does not hold on the winning side (subject), else the seed is
    dropped."""
    side = {lr: c for lr, c in cells.items() if keep(lr)}
    chosen = {lr: c for lr, c in side.items() if _trained(c)}
    if not chosen and any(c.get("diverged") for c in side.values()):
        if subject:
            raise fails(f"every {name} cell on the winning side of the comparison diverged")
        raise cannot(f"every {name} cell on the other side of the comparison diverged", COLLAPSED)
    if not chosen:
        raise cannot(f"no trained {name} cell on one side of the comparison (low or high lr)")
    lr = max(chosen, key=lambda r: (chosen[r]["validation_acc"], chosen[r]["test_acc"], -r))
    return lr, chosen[lr]


def _low_vs_high(facts: dict, name: str, low_wins: bool, th) -> Finding:
    """Effect: the winning side's best validation accuracy minus the other side's (low: lr <= LOW_LR, high: the
    rest). Its best cell collapsed: does not hold; the other side's best collapsed: judged (the course saw it fail)."""
    cells = _baseline(facts, name)
    rest = (lambda lr: lr > th.LOW_LR) if low_wins else (lambda lr: lr >= th.HIGH_LR)
    low = _group_best(cells, lambda lr: lr <= th.LOW_LR, name, low_wins)
    high = _group_best(cells, rest, name, not low_wins)
    win, lose = (low, high) if low_wins else (high, low)
    live(win[1], f"{name} lr {win[0]:g}", True)
    v_win, v_lose = win[1]["validation_acc"], lose[1]["validation_acc"]
    return Finding(
        v_win - v_lose,
        f"{name} best validation accuracy: lr {win[0]:g} {fmt(v_win)}, lr {lose[0]:g} {fmt(v_lose)}",
        {"lr": win[0], "validation_acc": v_win, "other_lr": lose[0], "other_validation_acc": v_lose},
        **_single_run_noise(facts, "validation", (v_win, win[1]), (v_lose, lose[1])),
        note=note(lose[1]),
    )


# --- The course's table (2.1), before its text ----------------------------------------------------------------------
def _not_a_tie_of_collapsed(ours: dict, rival: dict, named: str) -> None:
    """Two one-class predictors score the class share, whatever their lr: their order is a tie, the seed is dropped."""
    if ours.get("collapsed") and rival.get("collapsed"):
        raise cannot(f"{named} both collapsed (one class predicted): their order is a tie", COLLAPSED)


def _course_cell(facts: dict, baseline: str, lr) -> dict:
    cells = _baseline(facts, baseline)
    if lr is None or float(lr) not in cells:
        raise cannot(f"the course's {baseline} lr {lr} is not among our {baseline} cells")
    return cells[float(lr)]


def _table_check(baseline: str, rank: str):
    def table_lr(facts: dict, th) -> Finding:
        """Effect: the course's cell's validation lead over the best other lr (best) or the other lrs' lowest lead
        over it (worst). The course's best cell diverged or collapsed: does not hold; another cell (or the course's
        worst) diverged: the seed is dropped (no full ranking); every cell collapsed, or the course's cell and its
        rival: the seed is dropped (a tie of one-class predictors); the course's worst collapsed beside a live rival:
        judged; missing: cannot be judged."""
        lr = (get(facts, "course", "2.1", baseline).get(rank) or [None])[0]
        cells = _baseline(facts, baseline)
        ours = _course_cell(facts, baseline, lr)
        if rank == "best" and ours.get("diverged"):
            raise fails(f"the course's best {baseline} lr {lr} diverged, so it is not the best")
        if any(c.get("diverged") for c in cells.values()):
            raise cannot(f"a {baseline} cell diverged: no full ranking", COLLAPSED)
        if not all(_trained(c) for c in cells.values()):
            raise cannot(f"a {baseline} cell lacks an accuracy: no full ranking")
        if all(c.get("collapsed") for c in cells.values()):
            raise cannot(f"every {baseline} cell collapsed (one class predicted): their order is a tie", COLLAPSED)
        live(ours, f"{baseline} lr {lr}", True, failing=rank == "worst")
        others = {r: c for r, c in cells.items() if r != float(lr)}
        r_lr = max(others, key=lambda r: others[r]["validation_acc"] * (1 if rank == "best" else -1))
        _not_a_tie_of_collapsed(ours, others[r_lr], f"{baseline} lr {lr} and lr {r_lr:g}")
        rival = others[r_lr]["validation_acc"]
        lead = (ours["validation_acc"] - rival) * (1 if rank == "best" else -1)
        return Finding(
            lead,
            f"{baseline} validation accuracy at the course's {rank} lr {lr}: {fmt(ours['validation_acc'])}; "
            f"{rank} other lr {r_lr:g} {fmt(rival)}",
            {"lr": float(lr), "validation_acc": ours["validation_acc"], "rival_validation_acc": rival},
            **_single_run_noise(facts, "validation", (ours["validation_acc"], ours), (rival, others[r_lr])),
            note=note(ours),
        )

    return table_lr


for _baseline_name, _rank in [(b, r) for b in TABLE for r in ("best", "worst")]:
    if (_baseline_name, _rank) == ("finetune", "best"):
        continue  # the fine-tune row's best is the course's best pick (2.2): best_pick judges it
    claim(
        f"table_{_baseline_name}_{_rank}_lr",
        "2.1",
        f"The course's table: {_baseline_name}'s {_rank} learning rate (by validation accuracy) is the course's.",
        "Below is a table for the best and worst models, in pairs of Learning Rate and Test Accuracy, for each "
        "baseline",
        over=CNN,
    )(_table_check(_baseline_name, _rank))


# --- The text of 2.1, in its order ------------------------------------------------------------------------------------
def _best_vs_best(facts: dict, better: str, worse: str) -> tuple:
    """((lr, cell, test acc) of `better`'s best cell, the same of `worse`'s): `better` collapsed does not hold."""
    (b_lr, b_cell), (w_lr, w_cell) = _best(facts, better), _best(facts, worse)
    live(b_cell, f"{better} lr {b_lr:g}", True)
    return (b_lr, b_cell, b_cell["test_acc"]), (w_lr, w_cell, w_cell["test_acc"])


@claim(
    "finetune_best_overall",
    "2.1",
    "The best fine-tuned model is the best model overall: higher test accuracy than the best probe, the best "
    "scratch model and XGBoost.",
    "The best performing model is with the Fine-Tuning baseline",
    over=CNN,
)
def finetune_best_overall(facts: dict, th) -> Finding:
    """Effect: its lead over the runner-up (test accuracy), the baselines paired by replicate. Any baseline without a
    trained cell, or XGBoost's accuracy missing: cannot be judged; the best fine-tuned cell collapsed: does not
    hold; a rival collapsed: judged, the verdict says so when the runner-up collapsed."""
    best = {n: _best(facts, n)[1] for n in ("finetune", "probe", "scratch")}
    best["xgboost"] = get(facts, "cnn", "xgboost")
    acc = {n: number(c.get("test_acc"), f"{n}'s best test accuracy") for n, c in best.items()}
    live(best["finetune"], "the best fine-tuned cell", True)
    rival = max((n for n in acc if n != "finetune"), key=lambda n: acc[n])
    return Finding(
        acc["finetune"] - acc[rival],
        "best test accuracy: " + ", ".join(f"{n} {fmt(a)}" for n, a in acc.items()),
        {f"{n}_test_acc": a for n, a in acc.items()},
        **_single_run_noise(facts, "test", (acc["finetune"], best["finetune"]), (acc[rival], best[rival])),
        note=note(best[rival]),
    )


@claim(
    "finetune_much_better_than_scratch",
    "2.1",
    f"The fine-tuned ResNet is much stronger than the scratch model: the best fine-tuned cell (by validation "
    f"accuracy) has a test accuracy {MUCH_BETTER:g}+ above the best scratch cell's.",
    "It is safe to assume that trained ResNet in the Fine-Tuning baseline is much stronger and accurate than a "
    "single-epoch trained model we've built from scratch",
    over=CNN,
)
def finetune_much_better_than_scratch(facts: dict, th) -> Finding:
    """Effect: the test accuracy difference minus MUCH_BETTER. Either baseline without a trained cell: cannot be
    judged; the fine-tuned cell collapsed: does not hold; scratch collapsed: judged (the course's scratch models
    were weak), the verdict says so."""
    (t_lr, tune, t_acc), (s_lr, scratch, s_acc) = _best_vs_best(facts, "finetune", "scratch")
    return Finding(
        t_acc - s_acc - th.MUCH_BETTER,
        f"test accuracy: fine-tune (lr {t_lr:g}) {fmt(t_acc)}, scratch (lr {s_lr:g}) {fmt(s_acc)}",
        {"finetune_lr": t_lr, "finetune_test_acc": t_acc, "scratch_lr": s_lr, "scratch_test_acc": s_acc},
        **_single_run_noise(facts, "test", (t_acc, tune), (s_acc, scratch)),
        note=note(scratch),
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
    (p_lr, probe, p_acc), (s_lr, scratch, s_acc) = _best_vs_best(facts, "probe", "scratch")
    return Finding(
        p_acc - s_acc,
        f"test accuracy: probe (lr {p_lr:g}) {fmt(p_acc)}, scratch (lr {s_lr:g}) {fmt(s_acc)}",
        {"probe_lr": p_lr, "probe_test_acc": p_acc, "scratch_lr": s_lr, "scratch_test_acc": s_acc},
        **_single_run_noise(facts, "test", (p_acc, probe), (s_acc, scratch)),
        note=note(scratch),
    )


@claim(
    "probe_beats_finetune_high_lr",
    "2.1",
    f"The linear probe beats fine-tuning at every high learning rate (>= {HIGH_LR:g}) both ran: higher test accuracy.",
    "We can see that the Linear Probing performs better than the Fine-Tuning when both use higher LRs",
    over=CNN,
)
def probe_beats_finetune_high_lr(facts: dict, th) -> Finding:
    """Effect: the smallest lead (test accuracy), probe and fine-tune paired by replicate. A probe cell diverged or
    collapsed: does not hold; a fine-tune cell diverged: the seed is dropped; collapsed: judged (the course saw it
    'highly inaccurate'); no shared high lr: cannot be judged."""
    probe, tune = _baseline(facts, "probe"), _baseline(facts, "finetune")
    lrs = sorted((lr for lr in set(probe) & set(tune) if lr >= th.HIGH_LR), reverse=True)
    if not lrs:
        raise cannot(f"no lr >= {th.HIGH_LR:g} in both the probe and the fine-tune cells")
    for lr in lrs:
        live(probe[lr], f"probe lr {lr:g}", True)
        live(tune[lr], f"finetune lr {lr:g}", False, failing=True)
    acc = {
        lr: [
            number(c.get("test_acc"), f"{n} lr {lr:g} test accuracy")
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
        **_single_run_noise(facts, "test", (acc[lr][0], probe[lr]), (acc[lr][1], tune[lr])),
        note=note(*(tune[r] for r in lrs)),
    )


@claim(
    "finetune_best_low_lr",
    "2.1",
    f"Fine-tuning is best at a low learning rate: its best cell at lr <= {LOW_LR:g} beats every other lr on "
    "validation accuracy.",
    "the higher LRs modifying the pretrained ResNet in the Fine-Tuning model, to an undesirable degree",
    over=CNN,
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
    "finetune_inaccurate_high_lr",
    "2.1",
    f"Fine-tuning gets highly inaccurate at the higher learning rates: every fine-tune cell at lr >= {HIGH_LR:g} has "
    f"a test accuracy at most {NEAR_CHANCE:g} above chance ({CHANCE:g}).",
    "which gets highly inaccurate for higher LRs",
    over=CNN,
)
def finetune_inaccurate_high_lr(facts: dict, th) -> Finding:
    """Effect: chance + NEAR_CHANCE minus the most accurate high-lr fine-tune cell's test accuracy. A collapsed cell
    is judged (the failure the course describes), the verdict says so; a diverged cell has no accuracy and is left
    out; none left: the seed is dropped; no fine-tune cell at a high lr: cannot be judged."""
    high = {lr: c for lr, c in _baseline(facts, "finetune").items() if lr >= th.HIGH_LR}
    if not high:
        raise cannot(f"no fine-tune cell at lr >= {th.HIGH_LR:g}")
    acc = {lr: number(c.get("test_acc"), f"finetune lr {lr:g} test accuracy") for lr, c in high.items() if _trained(c)}
    if not acc:
        raise cannot(f"every fine-tune cell at lr >= {th.HIGH_LR:g} diverged", COLLAPSED)
    lr = max(acc, key=lambda r: acc[r])
    return Finding(
        CHANCE + th.NEAR_CHANCE - acc[lr],
        "fine-tune test accuracy: " + ", ".join(f"lr {r:g}: {fmt(a)}" for r, a in sorted(acc.items(), reverse=True)),
        {f"test_acc_lr{r:g}": a for r, a in acc.items()},
        **_single_run_noise(facts, "test", (acc[lr], high[lr])),
        note=note(*high.values()),
    )


# --- The picks (2.2) --------------------------------------------------------------------------------------------------
@claim(
    "best_pick",
    "2.2",
    "The best model of all is the course's pick (fine-tuning at lr 0.0001): the highest validation accuracy of "
    "every CNN cell (so also the fine-tune row's best in the course's table).",
    "the best baseline being the Fine-Tuning with LR 0.0001",
    over=CNN,
)
def best_pick(facts: dict, th) -> Finding:
    """Effect: its validation lead over the best other cell, every cell paired by replicate. The course's pick
    missing: cannot be judged; diverged or collapsed: does not hold. Diverged cells are no rivals (selection
    ranks them last)."""
    baseline, lr = get(facts, "course", "2.2", "best")
    pick = _course_cell(facts, baseline, lr)
    live(pick, f"{baseline} lr {lr}", True)
    if not _trained(pick):
        raise cannot(f"the course's pick {baseline} lr {lr} lacks an accuracy")
    rivals = [
        (n, r, c)
        for n in get(facts, "cnn", "cells")
        for r, c in _baseline(facts, n).items()
        if _trained(c) and (n, r) != (baseline, float(lr))
    ]
    if not rivals:
        raise cannot("no other trained CNN cell")
    name, r, rival = max(rivals, key=lambda x: x[2]["validation_acc"])
    return Finding(
        pick["validation_acc"] - rival["validation_acc"],
        f"validation accuracy: {baseline} lr {lr} {fmt(pick['validation_acc'])}; best other {name} lr {r:g} "
        f"{fmt(rival['validation_acc'])}",
        {"validation_acc": pick["validation_acc"], "rival_validation_acc": rival["validation_acc"]},
        **_single_run_noise(facts, "validation", (pick["validation_acc"], pick), (rival["validation_acc"], rival)),
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
    (validation accuracy). Its cells collapsed: judged (the worst failing is the course's picture), the verdict says
    so, save where the cell it is compared with collapsed too (a tie: the seed is dropped); the pick diverged: does
    not hold; a rival baseline without a trained cell: cannot be judged."""
    baseline, lr = get(facts, "course", "2.2", "worst")
    ours = _course_cell(facts, baseline, lr)
    live(ours, f"{baseline} lr {lr}", True, failing=True)
    if not _trained(ours):
        raise cannot(f"the course's pick {baseline} lr {lr} lacks an accuracy")
    rivals = {n: _best(facts, n)[1] for n in get(facts, "cnn", "cells") if n != baseline}
    inside = [c for r, c in _baseline(facts, baseline).items() if r != float(lr) and _trained(c)]
    if not rivals or not inside:
        raise cannot(f"no other baseline, or no other {baseline} cell, to compare with")
    low = min(rivals.values(), key=lambda c: c["validation_acc"])
    high = max(inside, key=lambda c: c["validation_acc"])
    below, lead = low["validation_acc"] - ours["validation_acc"], ours["validation_acc"] - high["validation_acc"]
    binding = low if below < lead else high
    _not_a_tie_of_collapsed(ours, binding, f"{baseline} lr {lr} and the cell it is compared with")
    return Finding(
        min(below, lead),
        f"{baseline} lr {lr} validation accuracy {fmt(ours['validation_acc'])}; the other baselines' best at least "
        f"{fmt(low['validation_acc'])}; its other lrs at most {fmt(high['validation_acc'])}",
        {
            "validation_acc": ours["validation_acc"],
            "rivals_min_validation_acc": low["validation_acc"],
            "inside_max_validation_acc": high["validation_acc"],
        },
        **_single_run_noise(facts, "validation", (ours["validation_acc"], ours), (binding["validation_acc"], binding)),
        note=note(*_baseline(facts, baseline).values()),
    )
