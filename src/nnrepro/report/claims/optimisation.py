"""1.1.1-1.1.3 Optimisation of an MLP: the learning-rate sweep, the long run, BatchNorm.

Each check returns one seed's effect in its natural unit, > 0 where the course's sentence holds. "Settling" (1.1.2's
knee, 1.1.3's "stabilizing") is trends.settle_epoch: the first epoch from which the validation loss stays within a
band of its last-10-epoch level, a share of the later evaluations excepted, so one late spike does not undo it."""

import math

from nnrepro.report.claims import trends
from nnrepro.report.claims.core import Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import after, curve, excess_variation, get, last_epochs, live, note

# Thresholds: each a reading of the course's words; reference/thresholds.yaml says for each whether it was set before
# or after a committed result showed its quantity, and what it was before being re-derived from the words alone
# (a previous value in its unit, or the old rule in words).
STALL_DROP = 0.10  # "stable (in a bad way)": best validation loss less than 10% under the first evaluation's
STILL_FALLING_TAIL = 0.25  # "is indeed descending": a new lowest validation loss in the run's last quarter
EARLY_EPOCH = 5  # "early on (i.e. with less epochs)": the evaluations up to epoch 5, a tenth of the sweep's 50
STEEP_EPOCH = 20  # "the most dramatic change ... happens up until the ~20th epoch"
KNEE_WINDOW = 5  # "~20th": a knee that rounds to epoch 20 at the nearest ten, 15 to 25
EARLY_DROP_SHARE = 0.90  # "From there, there isn't a dramatic change": at the knee 90% of the drop to the level is
# done, what is left (a tenth) no dramatic change
STEADIER_RATIO = 1.0  # "there aren't as many peaks": BatchNorm's excess variation under plain's (the interval over
# seeds, not a ratio margin, keeps a tie from passing)
PEAK_Z = 3.5  # "a peaking loss": a rise 3.5 robust z over the run's own steps (Iglewicz & Hoaglin's outlier cut)
PEAK_COUNT = 2  # "sometimes": more than once
SETTLE_BAND = 0.10  # "stabilizing": within a tenth of the larger change of the curves compared of its level
SETTLE_OUTSIDE = 0.10  # "stays" settled: at most a tenth of the later evaluations outside the band ("sometimes there
# is a peaking loss" on a curve the course calls without dramatic change)
THRESHOLDS = (
    "STALL_DROP",
    "STILL_FALLING_TAIL",
    "EARLY_EPOCH",
    "STEEP_EPOCH",
    "KNEE_WINDOW",
    "EARLY_DROP_SHARE",
    "STEADIER_RATIO",
    "PEAK_Z",
    "PEAK_COUNT",
    "SETTLE_BAND",
    "SETTLE_OUTSIDE",
)
BN_STEADY_LRS = (0.01, 0.001)  # the lrs of the course's steadier BatchNorm curves (0.01 "especially")


def _sweep(facts: dict, variant: str) -> dict:
    return {float(lr): run for lr, run in get(facts, "lr_sweep", variant).items()}


def _label(variant: str, lr: float) -> str:
    return f"{variant} lr {lr:g}"


def _middles(runs: dict) -> list:
    """The learning rates between the smallest and the largest (the course's 0.01 and 0.001)."""
    middles = sorted((r for r in runs if min(runs) < r < max(runs)), reverse=True)
    if not middles:
        raise cannot("fewer than three learning rates: no middle ones")
    return middles


def _early_best(run: dict, label: str, th) -> float:
    """Lowest validation loss up to EARLY_EPOCH (the loss at init is the same for every lr)."""
    epochs, loss = curve(run, "validation_loss", label)
    if not (epochs <= th.EARLY_EPOCH).any():
        raise cannot(f"{label} has no validation loss by epoch {th.EARLY_EPOCH}")
    return float(loss[epochs <= th.EARLY_EPOCH].min())


def _wiggles(runs: dict) -> dict:
    """label -> excess variation of the validation loss over the evaluations every run has."""
    curves = {label: curve(run, "validation_loss", label, least=3)[1] for label, run in runs.items()}
    n = min(len(c) for c in curves.values())
    return {label: excess_variation(c[:n]) for label, c in curves.items()}


# --- 1.1.1 Learning rate -------------------------------------------------------------------------------------------
@claim(
    "lr_largest_stalls",
    "1.1.1",
    f"The largest learning rate stalls: its best validation loss is less than {STALL_DROP:.0%} under its first "
    "evaluation's, and another learning rate reaches a lower loss (stable 'in a bad way').",
    "the highest learning rate (LR=1), marked in red, is somewhat stable (in a bad way)",
)
def lr_largest_stalls(facts: dict, th) -> Finding:
    """Effect: the smaller of STALL_DROP minus its drop and its lead over the other lrs' best, both as fractions of
    its first loss. Diverged: does not hold (the course's curve was flat and finite).
    Collapsed: judged, and the verdict says so ('in a bad way' is what the course saw). No other lr trained: cannot
    be judged."""
    runs = _sweep(facts, "plain")
    lr = max(runs)
    label = _label("plain", lr)
    _, loss = curve(live(runs[lr], label, True, failing=True), "validation_loss", label, least=2)
    if loss[0] <= 0:
        raise cannot(f"{label}'s first validation loss is {loss[0]:g}: no relative drop")
    others = {r: run for r, run in runs.items() if r != lr and not run.get("diverged")}
    if not others:
        raise cannot("no other learning rate trained without diverging: 'in a bad way' cannot be compared")
    other_best = min(curve(run, "validation_loss", _label("plain", r))[1].min() for r, run in others.items())
    drop = (loss[0] - loss.min()) / loss[0]
    return Finding(
        min(th.STALL_DROP - drop, (loss.min() - other_best) / loss[0]),
        f"lr {lr:g}: validation loss {fmt(loss[0])} -> best {fmt(loss.min())} ({drop:.1%} lower); best "
        f"of the other lrs {fmt(other_best)}",
        {"lr": lr, "first_loss": loss[0], "best_loss": loss.min(), "drop": drop, "other_best_loss": other_best},
        note=note(runs[lr]),
    )


@claim(
    "lr_smallest_slow",
    "1.1.1",
    f"The smallest learning rate descends but slowly: its validation loss falls by {STALL_DROP:.0%} or more, is "
    f"still reaching new lows in the last {STILL_FALLING_TAIL:.0%} of the run, and its last-10-epoch mean stays "
    "above the best loss of every middle learning rate.",
    "the lowest LR (0.0001) is indeed descending, though very slowly",
)
def lr_smallest_slow(facts: dict, th) -> Finding:
    """Effect (fractions of its first loss): the smallest of its drop beyond STALL_DROP, the new low it sets in its
    last STILL_FALLING_TAIL (still descending), and its last-10-epoch loss's excess over the middle lrs' best (slow).
    Diverged or collapsed: does not hold (it does not descend). A middle lr diverged, collapsed or absent: cannot be
    judged."""
    runs = _sweep(facts, "plain")
    lr, middles = min(runs), _middles(runs)
    label = _label("plain", lr)
    run = live(runs[lr], label, True)
    _, loss = curve(run, "validation_loss", label, least=4)
    if loss[0] <= 0:
        raise cannot(f"{label}'s first validation loss is {loss[0]:g}: no relative drop")
    tail = math.ceil(th.STILL_FALLING_TAIL * len(loss))
    middle_best = max(
        curve(live(runs[r], _label("plain", r), False), "validation_loss", _label("plain", r))[1].min() for r in middles
    )
    late = last_epochs(run, "validation_loss", label)
    drop, new_low = (loss[0] - late) / loss[0], (loss[:-tail].min() - loss[-tail:].min()) / loss[0]
    return Finding(
        min(drop - th.STALL_DROP, new_low, (late - middle_best) / loss[0]),
        f"lr {lr:g}: validation loss {fmt(loss[0])} -> {fmt(late)} over its last epochs ({drop:.1%} "
        f"lower), its last {tail} evaluations {'set a new low' if new_low > 0 else 'set no new low'} "
        f"({new_low:+.2%} of its first loss); the middle lrs reach {fmt(middle_best)} or lower",
        {
            "lr": lr,
            "first_loss": loss[0],
            "late_loss": late,
            "drop": drop,
            "tail_new_low": new_low,
            "middle_best_loss": middle_best,
        },
    )


@claim(
    "lr_middle_best",
    "1.1.1",
    f"The middle learning rates (the course's 0.01 and 0.001) descend the most early on: each one's lowest "
    f"validation loss by epoch {EARLY_EPOCH} is below both the largest and the smallest learning rate's.",
    "The blue and green LRs in the figure are most optimal, and we're seeing the favorable effect of having a "
    "large descent early on (i.e. with less epochs)",
)
def lr_middle_best(facts: dict, th) -> Finding:
    """Effect (loss): the extremes' lowest early loss minus the middles' highest. A middle lr diverged: does not hold;
    collapsed: judged on its loss (it has one; a run that learns nothing does not descend early). An extreme lr
    diverged: cannot be judged; the largest lr collapsed is judged (the course saw it fail), the smallest collapsed
    cannot be judged."""
    runs = _sweep(facts, "plain")
    middle = {
        r: _early_best(live(runs[r], _label("plain", r), True, failing=True), _label("plain", r), th)
        for r in _middles(runs)
    }
    extreme = {
        r: _early_best(live(runs[r], _label("plain", r), False, failing=r == max(runs)), _label("plain", r), th)
        for r in (min(runs), max(runs))
    }
    every = sorted({**middle, **extreme}.items(), reverse=True)
    return Finding(
        min(extreme.values()) - max(middle.values()),
        f"lowest validation loss by epoch {th.EARLY_EPOCH}: " + ", ".join(f"lr {r:g}: {fmt(v)}" for r, v in every),
        {f"early_best_loss_lr{r:g}": v for r, v in every},
        note=note(*(runs[r] for r in middle)),
    )


# --- 1.1.2 A long run ----------------------------------------------------------------------------------------------
LONG = "the long plain run"


@claim(
    "long_early_drop",
    "1.1.2",
    f"In the 100-epoch run the validation loss has its knee at about epoch {STEEP_EPOCH}: it settles (stays within "
    f"{1 - EARLY_DROP_SHARE:.0%} of its first-to-level drop of its last-10-epoch level) at an epoch within "
    f"{KNEE_WINDOW} of epoch {STEEP_EPOCH}, neither flat from the start nor still falling long after.",
    "The most dramatic change in the losses happens up until the  $\\sim 20$ th epoch",
)
def long_early_drop(facts: dict, th) -> Finding:
    """Effect (epochs): KNEE_WINDOW minus the knee's distance from STEEP_EPOCH; the knee is where the curve settles in
    a band of 1 - EARLY_DROP_SHARE of its drop (SETTLE_OUTSIDE of the later evaluations excepted: the course's
    "sometimes there is a peaking loss"). Diverged or collapsed: does not hold (no drop as the course saw); no drop
    at all: does not hold; too short to reach past epoch 20: cannot be judged."""
    run = live(get(facts, "long", "plain"), LONG, True)
    epochs, loss = curve(run, "validation_loss", LONG, least=2)
    if not (epochs > th.STEEP_EPOCH + th.KNEE_WINDOW).any():
        raise cannot(f"{LONG} has no evaluations after epoch {th.STEEP_EPOCH + th.KNEE_WINDOW}")
    level, change = trends.level_and_change(epochs, loss)
    if loss[0] <= level:
        raise fails(f"{LONG} ends no lower than its first validation loss: no drop")
    knee = trends.settle_epoch(epochs, loss, 1 - th.EARLY_DROP_SHARE, th.SETTLE_OUTSIDE)
    by = {
        e: (loss[0] - loss[epochs <= e].min()) / change for e in (2, th.EARLY_EPOCH, th.STEEP_EPOCH) if e >= epochs[0]
    }
    return Finding(
        th.KNEE_WINDOW - abs(knee - th.STEEP_EPOCH),
        f"validation loss {fmt(loss[0])} -> level {fmt(level)}; within {1 - th.EARLY_DROP_SHARE:.0%} of the drop from "
        f"epoch {knee:g}; share of the drop done by epoch " + ", ".join(f"{e:g}: {v:.0%}" for e, v in by.items()),
        {
            "first_loss": loss[0],
            "level": level,
            "knee_epoch": knee,
            **{f"share_by_epoch{e:g}": v for e, v in by.items()},
        },
    )


@claim(
    "long_peaks",
    "1.1.2",
    f"After epoch {STEEP_EPOCH} the long run's validation loss sometimes peaks: at least {PEAK_COUNT} rises from one "
    f"evaluation to the next stand {PEAK_Z:g} robust z or more above the run's own steps (modified z-score).",
    "sometimes there is a peaking loss",
)
def long_peaks(facts: dict, th) -> Finding:
    """Effect (robust z): the PEAK_COUNT-th largest rise's score after epoch 20 minus PEAK_Z; the scores are the
    steps' modified z-scores (median and MAD of the run's own steps), so ordinary jitter scores about 1. Diverged or
    collapsed: does not hold (a run that learns nothing has no peaks of learning). Too few evaluations after epoch
    20: cannot be judged."""
    run = live(get(facts, "long", "plain"), LONG, True)
    late = after(run, "validation_loss", LONG, th.STEEP_EPOCH, least=th.PEAK_COUNT + 2)
    scores = trends.rise_scores(late)
    peak = float(scores[th.PEAK_COUNT - 1])
    return Finding(
        peak - th.PEAK_Z,
        f"largest rises of the validation loss after epoch {th.STEEP_EPOCH}, in robust z of its steps: "
        + ", ".join(f"{z:.3g}" for z in scores[: th.PEAK_COUNT + 1]),
        {"peak_z": peak, "largest_z": float(scores[0]), "peaks": int((scores >= th.PEAK_Z).sum())},
    )


# --- 1.1.3 Batch normalisation -------------------------------------------------------------------------------------
def _bn_ratio(plain: dict, batchnorm: dict, what: str) -> tuple:
    """(BatchNorm's excess variation over plain's, evidence, numbers). Plain diverged or collapsed: cannot be judged;
    BatchNorm diverged or collapsed: does not hold; a plain curve without peaks: does not hold."""
    live(plain, f"plain {what}", False)
    live(batchnorm, f"BatchNorm {what}", True)
    wiggle = _wiggles({"plain": plain, "batchnorm": batchnorm})
    if wiggle["plain"] <= 0:
        raise fails(f"the plain {what} curve has no peaks for BatchNorm to remove")
    ratio = wiggle["batchnorm"] / wiggle["plain"]
    return (
        ratio,
        f"excess variation of the validation loss, {what}: plain {fmt(wiggle['plain'])}, "
        f"BatchNorm {fmt(wiggle['batchnorm'])}",
        {"plain_excess_variation": wiggle["plain"], "batchnorm_excess_variation": wiggle["batchnorm"], "ratio": ratio},
    )


def _bn_steadier(plain: dict, batchnorm: dict, what: str, th) -> Finding:
    """Effect (a ratio): STEADIER_RATIO minus BatchNorm's excess variation over plain's; as _bn_ratio otherwise."""
    ratio, evidence, numbers = _bn_ratio(plain, batchnorm, what)
    return Finding(th.STEADIER_RATIO - ratio, evidence, numbers)


def _common_lr(facts: dict, lr: float) -> tuple[dict, dict]:
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    if lr not in plain or lr not in batchnorm:
        raise cannot(f"lr {lr:g} is not in both sweeps")
    return plain[lr], batchnorm[lr]


def _steadier_at(lr: float):
    def bn_steadier(facts: dict, th) -> Finding:
        """lr absent from either sweep: cannot be judged (the course names it). Otherwise as _bn_steadier."""
        plain, batchnorm = _common_lr(facts, lr)
        return _bn_steadier(plain, batchnorm, f"lr {lr:g}", th)

    return bn_steadier


for _lr in BN_STEADY_LRS:
    claim(
        f"bn_steadier_lr{str(_lr).replace('.', '')}",
        "1.1.3",
        f"BatchNorm steadies the validation-loss curve at lr {_lr:g}: its excess variation (total variation beyond "
        f"the net change) is under {STEADIER_RATIO:g}x the plain network's.",
        'there aren\'t as many "peaks" in Figure 3 compared to 1',
    )(_steadier_at(_lr))


@claim(
    "bn_steadier_most_lr001",
    "1.1.3",
    f"BatchNorm removes the most peaks at lr {BN_STEADY_LRS[0]:g}: its excess variation relative to the plain "
    f"network's is lower there than at lr {BN_STEADY_LRS[1]:g}.",
    "especially with the 0.01 LR",
)
def bn_steadier_most_lr001(facts: dict, th) -> Finding:
    """Effect (a ratio): BatchNorm-over-plain excess variation at lr 0.001 minus at lr 0.01. Either lr absent:
    cannot be judged; as _bn_ratio otherwise (at either lr)."""
    (ratio, evidence, _), (other, other_evidence, _) = (
        _bn_ratio(plain, batchnorm, f"lr {lr:g}")
        for lr in BN_STEADY_LRS
        for plain, batchnorm in [_common_lr(facts, lr)]
    )
    return Finding(
        other - ratio,
        f"{evidence}; {other_evidence}",
        {"ratio_lr001": ratio, "ratio_lr0001": other},
    )


@claim(
    "bn_steadier_long",
    "1.1.3",
    f"BatchNorm steadies the 100-epoch run: excess variation of its validation loss under {STEADIER_RATIO:g}x "
    "the plain network's ('the peaks being less dramatic').",
    "with the peaks being less dramatic",
)
def bn_steadier_long(facts: dict, th) -> Finding:
    """As _bn_steadier, on the long runs."""
    return _bn_steadier(get(facts, "long", "plain"), get(facts, "long", "batchnorm"), "long run", th)


def _bn_pairs(facts: dict) -> dict:
    """lr -> ((epochs, loss) of plain, of BatchNorm) at the middle lrs; plain only compared with (diverged or
    collapsed: cannot be judged), BatchNorm judged (diverged or collapsed: does not hold)."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    lrs = [lr for lr in _middles(batchnorm) if lr in plain]
    if not lrs:
        raise cannot("no middle learning rate is in both sweeps")
    return {
        lr: tuple(
            curve(live(run, _label(v, lr), v == "BatchNorm"), "validation_loss", _label(v, lr), least=2)
            for v, run in (("plain", plain[lr]), ("BatchNorm", batchnorm[lr]))
        )
        for lr in lrs
    }


@claim(
    "bn_stabilises_faster",
    "1.1.3",
    f"With BatchNorm the middle learning rates stabilise in fewer epochs: each one's validation loss settles (stays "
    f"within {SETTLE_BAND:.0%} of the larger curve's change of its last-10-epoch level, bar {SETTLE_OUTSIDE:.0%} of "
    "the later evaluations) at an earlier epoch than the plain network's at that rate.",
    "both LRs are stabilizing faster (with less epochs)",
)
def bn_stabilises_faster(facts: dict, th) -> Finding:
    """Effect (epochs): the smallest gain over the middle lrs, plain's settling epoch minus BatchNorm's, both in a band
    of the larger of their changes (the curves compared on one scale). As _bn_pairs for broken runs."""
    settle = {
        lr: [trends.settle_epoch(e, v, th.SETTLE_BAND, th.SETTLE_OUTSIDE, trends.common_scale(*pair)) for e, v in pair]
        for lr, pair in _bn_pairs(facts).items()
    }
    return Finding(
        min(p - b for p, b in settle.values()),
        "settled from epoch (plain/BatchNorm): "
        + ", ".join(f"lr {lr:g}: {p:g}/{b:g}" for lr, (p, b) in settle.items()),
        {f"{v}_settle_epoch_lr{lr:g}": e for lr, pair in settle.items() for v, e in zip(("plain", "batchnorm"), pair)},
    )


@claim(
    "bn_remains_stable",
    "1.1.3",
    f"With BatchNorm the middle learning rates' validation loss stays closer to its level after epoch {STEEP_EPOCH} "
    "than the plain network's: its largest distance from its last-10-epoch level, in units of the larger curve's "
    "change, is smaller at each rate.",
    "remains stable throughout the training",
)
def bn_remains_stable(facts: dict, th) -> Finding:
    """Effect (shares of the larger curve's change): the smallest margin over the middle lrs, plain's largest stray
    from its level after epoch 20 minus BatchNorm's. As _bn_pairs for broken runs; nothing after epoch 20: cannot be
    judged."""
    stray = {}
    for lr, pair in _bn_pairs(facts).items():
        if not all((e > th.STEEP_EPOCH).any() for e, _ in pair):
            raise cannot(f"lr {lr:g} has no validation loss after epoch {th.STEEP_EPOCH}")
        stray[lr] = [trends.largest_stray(e, v, th.STEEP_EPOCH, trends.common_scale(*pair)) for e, v in pair]
    return Finding(
        min(p - b for p, b in stray.values()),
        f"largest distance from the level after epoch {th.STEEP_EPOCH}, in units of the larger curve's change "
        "(plain/BatchNorm): " + ", ".join(f"lr {lr:g}: {p:.3g}/{b:.3g}" for lr, (p, b) in stray.items()),
        {f"{v}_stray_lr{lr:g}": s for lr, pair in stray.items() for v, s in zip(("plain", "batchnorm"), pair)},
    )


@claim(
    "bn_smallest_lr_faster",
    "1.1.3",
    f"With BatchNorm the smallest learning rate learns faster: its lowest validation loss by epoch {EARLY_EPOCH} "
    "is below the plain network's at the same learning rate.",
    "the lowest LR also learns faster",
)
def bn_smallest_lr_faster(facts: dict, th) -> Finding:
    """Effect (loss): plain's early loss minus BatchNorm's. BatchNorm diverged: does not hold; collapsed: judged on its
    loss. Plain diverged or collapsed: cannot be judged."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    common = set(plain) & set(batchnorm)
    if not common:
        raise cannot("no learning rate is in both sweeps")
    lr = min(common)
    bn = _early_best(live(batchnorm[lr], _label("BatchNorm", lr), True, failing=True), _label("BatchNorm", lr), th)
    base = _early_best(live(plain[lr], _label("plain", lr), False), _label("plain", lr), th)
    return Finding(
        base - bn,
        f"lr {lr:g}, lowest validation loss by epoch {th.EARLY_EPOCH}: plain {fmt(base)}, BatchNorm {fmt(bn)}",
        {"lr": lr, "plain_early_best_loss": base, "batchnorm_early_best_loss": bn},
        note=note(batchnorm[lr]),
    )


@claim(
    "bn_lr1_unstable",
    "1.1.3",
    "With BatchNorm the largest learning rate is unstable: the other BatchNorm learning rates and the plain "
    f"network at that rate each have under {STEADIER_RATIO:g}x its excess variation of the validation loss.",
    "with the highest LR, the losses are unstable",
)
def bn_lr1_unstable(facts: dict, th) -> Finding:
    """Effect: STEADIER_RATIO minus the steadiest rival's ratio. Any diverged: cannot be judged (no measurable wiggle).
    It or plain at its lr collapsed: judged (the course saw both fail); another BatchNorm lr collapsed: cannot."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    if not set(plain) & set(batchnorm) or len(batchnorm) < 2:
        raise cannot("need the largest lr in both sweeps and another BatchNorm lr")
    lr = max(set(plain) & set(batchnorm))
    subject, base = _label("BatchNorm", lr), _label("plain", lr)
    runs = {**{_label("BatchNorm", r): run for r, run in batchnorm.items()}, base: plain[lr]}
    for label, run in runs.items():
        live(run, label, False, "no finite curve whose wiggles could be measured", failing=label in (subject, base))
    wiggle = _wiggles(runs)
    if wiggle[subject] <= 0:
        raise fails(f"{subject}'s validation loss has no peaks at all")
    others = max(v for label, v in wiggle.items() if label not in (subject, base))
    return Finding(
        th.STEADIER_RATIO - max(others, wiggle[base]) / wiggle[subject],
        f"excess variation: {subject} {fmt(wiggle[subject])}, {base} {fmt(wiggle[base])}, "
        f"other BatchNorm lrs at most {fmt(others)}",
        {
            "lr": lr,
            "batchnorm_excess_variation": wiggle[subject],
            "plain_excess_variation": wiggle[base],
            "other_batchnorm_max_excess_variation": others,
        },
        note=note(batchnorm[lr]),
    )


@claim(
    "bn_lr1_worst",
    "1.1.3",
    "With BatchNorm the largest learning rate is still the worst: over the last 10 epochs its mean validation "
    "accuracy is lower than every other BatchNorm learning rate's.",
    "so the highest LR is still ineffective",
)
def bn_lr1_worst(facts: dict, th) -> Finding:
    """Effect (accuracy): the other lrs' lowest last-10-epoch accuracy minus its own (the loss is evidence only).
    Another BatchNorm lr diverged or collapsed: cannot be judged (worse than a broken run is moot); it collapsed:
    judged (the course saw it fail)."""
    runs = _sweep(facts, "batchnorm")
    if len(runs) < 2:
        raise cannot("fewer than two BatchNorm learning rates")
    lr = max(runs)
    ends = {
        r: tuple(
            last_epochs(
                live(run, _label("BatchNorm", r), False, "it has no level to rank", failing=r == lr),
                key,
                _label("BatchNorm", r),
            )
            for key in ("validation_loss", "validation_acc")
        )
        for r, run in runs.items()
    }
    loss, acc = ends.pop(lr)
    others_loss, others_acc = max(o[0] for o in ends.values()), min(o[1] for o in ends.values())
    return Finding(
        others_acc - acc,
        f"last-10-epoch validation loss/accuracy: lr {lr:g} {fmt(loss)}/{fmt(acc)}; others' loss at most "
        f"{fmt(others_loss)}, accuracy at least {fmt(others_acc)}",
        {"lr": lr, "late_loss": loss, "late_acc": acc, "others_max_loss": others_loss, "others_min_acc": others_acc},
        note=note(runs[lr]),
    )
