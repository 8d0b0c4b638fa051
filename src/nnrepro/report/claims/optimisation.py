"""1.1.1-1.1.3 Optimisation of an MLP: the learning-rate sweep, the long run, BatchNorm."""

import math

import numpy as np

from nnrepro.report.claims.core import Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import (
    after,
    curve,
    excess_variation,
    get,
    largest_rise,
    last_epochs,
    live,
    note,
    settle_epoch,
)

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
STALL_DROP = 0.10  # "stable (in a bad way)": best validation loss less than 10% under the first evaluation's
STILL_FALLING_TAIL = 0.25  # "still descending": the run sets a new lowest validation loss in its last quarter
EARLY_EPOCH = 5  # "early on" / "with less epochs": the evaluations up to epoch 5
STEEP_EPOCH = 20  # "the most dramatic change ... happens up until the ~20th epoch"
EARLY_DROP_SHARE = 0.80  # "most dramatic change": at least 80% of the first-to-best drop is done by epoch 20
LATE_CHANGE_SHARE = 0.25  # "no dramatic change" after: median later loss within 25% of that drop of the epoch-20 level
STEADIER_RATIO = 0.8  # "fewer / less dramatic peaks": excess variation at most 0.8x the other curve's, not a tie
PEAK_RISE = 0.05  # "a peaking loss": the validation loss rises 5%+ above the evaluation before
SETTLE_BAND = 0.10  # "stabilizing": within 10% of its last-10-epoch level from some epoch on
THRESHOLDS = (
    "STALL_DROP",
    "STILL_FALLING_TAIL",
    "EARLY_EPOCH",
    "STEEP_EPOCH",
    "EARLY_DROP_SHARE",
    "LATE_CHANGE_SHARE",
    "STEADIER_RATIO",
    "PEAK_RISE",
    "SETTLE_BAND",
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
    """Effect: the smaller of its drop beyond STALL_DROP and its last-10-epoch loss's excess over the middle lrs' best,
    both as fractions of its first loss (and it must still be falling). Diverged or collapsed: does not hold (it does
    not descend). A middle lr diverged, collapsed or absent: cannot be judged."""
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
    drop, falling = (loss[0] - late) / loss[0], bool(loss[-tail:].min() < loss[:-tail].min())
    return Finding(
        min(drop - th.STALL_DROP, (late - middle_best) / loss[0]),
        f"lr {lr:g}: validation loss {fmt(loss[0])} -> {fmt(late)} over its last epochs ({drop:.1%} "
        f"lower), {'still' if falling else 'no longer'} falling in its last {tail} evaluations; the "
        f"middle lrs reach {fmt(middle_best)} or lower",
        {
            "lr": lr,
            "first_loss": loss[0],
            "late_loss": late,
            "drop": drop,
            "still_falling": falling,
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
    """Effect: the extremes' lowest early loss minus the middles' highest (loss). A middle lr diverged or collapsed:
    does not hold. An extreme lr diverged: cannot be judged; the largest lr collapsed is judged (the course saw it
    fail), the smallest collapsed cannot be judged."""
    runs = _sweep(facts, "plain")
    middle = {r: _early_best(live(runs[r], _label("plain", r), True), _label("plain", r), th) for r in _middles(runs)}
    extreme = {
        r: _early_best(live(runs[r], _label("plain", r), False, failing=r == max(runs)), _label("plain", r), th)
        for r in (min(runs), max(runs))
    }
    every = sorted({**middle, **extreme}.items(), reverse=True)
    return Finding(
        min(extreme.values()) - max(middle.values()),
        f"lowest validation loss by epoch {th.EARLY_EPOCH}: " + ", ".join(f"lr {r:g}: {fmt(v)}" for r, v in every),
        {f"early_best_loss_lr{r:g}": v for r, v in every},
    )


# --- 1.1.2 A long run ----------------------------------------------------------------------------------------------
@claim(
    "long_early_drop",
    "1.1.2",
    f"In the 100-epoch run the validation loss drops steeply up to about epoch {STEEP_EPOCH} (at least "
    f"{EARLY_DROP_SHARE:.0%} of the first-to-best drop by then), then changes little (median later loss within "
    f"{LATE_CHANGE_SHARE:.0%} of that drop of the epoch-{STEEP_EPOCH} level).",
    "The most dramatic change in the losses happens up until the  $\\sim 20$ th epoch",
)
def long_early_drop(facts: dict, th) -> Finding:
    """Effect: the smaller margin of the two shares (fractions of the drop). Diverged or collapsed: does not hold (no
    calm plateau after a drop). Too short to reach past epoch 20: cannot be judged."""
    run = live(get(facts, "long", "plain"), "the long plain run", True)
    epochs, loss = curve(run, "validation_loss", "the long plain run", least=2)
    early, late = loss[epochs <= th.STEEP_EPOCH], loss[epochs > th.STEEP_EPOCH]
    if not len(early) or not len(late):
        raise cannot(f"the long plain run has no evaluations on both sides of epoch {th.STEEP_EPOCH}")
    drop = loss[0] - loss.min()
    if drop <= 0:
        raise fails("the long plain run never goes below its first validation loss")
    share, change = (loss[0] - early.min()) / drop, abs(np.median(late) - early.min()) / drop
    return Finding(
        min(share - th.EARLY_DROP_SHARE, th.LATE_CHANGE_SHARE - change),
        f"{share:.0%} of the drop {fmt(loss[0])} -> {fmt(loss.min())} done by epoch {th.STEEP_EPOCH}; "
        f"later median {fmt(np.median(late))}, {change:.0%} of the drop from the epoch-{th.STEEP_EPOCH} "
        "level",
        {
            "first_loss": loss[0],
            "best_loss": loss.min(),
            "early_best_loss": early.min(),
            "late_median_loss": np.median(late),
            "early_share": share,
            "late_change": change,
        },
    )


@claim(
    "long_peaks",
    "1.1.2",
    f"After epoch {STEEP_EPOCH} the long run's validation loss sometimes peaks: at least once it rises "
    f"{PEAK_RISE:.0%} or more above the evaluation before.",
    "sometimes there is a peaking loss",
)
def long_peaks(facts: dict, th) -> Finding:
    """Effect: its largest relative rise after epoch 20 minus PEAK_RISE. Diverged or collapsed: does not hold (a
    run that learns nothing has no peaks of learning). Nothing after epoch 20: cannot be judged."""
    run = live(get(facts, "long", "plain"), "the long plain run", True)
    rise = largest_rise(after(run, "validation_loss", "the long plain run", th.STEEP_EPOCH))
    return Finding(
        rise - th.PEAK_RISE,
        f"largest rise of the validation loss after epoch {th.STEEP_EPOCH}: {rise:.1%}",
        {"largest_rise": rise},
    )


# --- 1.1.3 Batch normalisation -------------------------------------------------------------------------------------
def _bn_steadier(plain: dict, batchnorm: dict, what: str, th) -> Finding:
    """Effect: STEADIER_RATIO minus BatchNorm's excess variation over plain's. Plain diverged or collapsed: cannot be
    judged; BatchNorm diverged or collapsed: does not hold; a plain curve without peaks: does not hold."""
    live(plain, f"plain {what}", False)
    live(batchnorm, f"BatchNorm {what}", True)
    wiggle = _wiggles({"plain": plain, "batchnorm": batchnorm})
    if wiggle["plain"] <= 0:
        raise fails(f"the plain {what} curve has no peaks for BatchNorm to remove")
    ratio = wiggle["batchnorm"] / wiggle["plain"]
    return Finding(
        th.STEADIER_RATIO - ratio,
        f"excess variation of the validation loss, {what}: plain {fmt(wiggle['plain'])}, "
        f"BatchNorm {fmt(wiggle['batchnorm'])}",
        {"plain_excess_variation": wiggle["plain"], "batchnorm_excess_variation": wiggle["batchnorm"], "ratio": ratio},
    )


def _steadier_at(lr: float):
    def bn_steadier(facts: dict, th) -> Finding:
        """lr absent from either sweep: cannot be judged (the course names it). Otherwise as _bn_steadier."""
        plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
        if lr not in plain or lr not in batchnorm:
            raise cannot(f"lr {lr:g} is not in both sweeps")
        return _bn_steadier(plain[lr], batchnorm[lr], f"lr {lr:g}", th)

    return bn_steadier


for _lr, _sentence in zip(
    BN_STEADY_LRS,
    (
        'there aren\'t as many "peaks" in Figure 3 compared to 1, especially with the 0.01 LR',
        'there aren\'t as many "peaks" in Figure 3 compared to 1',
    ),
):
    claim(
        f"bn_steadier_lr{str(_lr).replace('.', '')}",
        "1.1.3",
        f"BatchNorm steadies the validation-loss curve at lr {_lr:g}: its excess variation (total variation beyond "
        f"the net change) is at most {STEADIER_RATIO:g}x the plain network's.",
        _sentence,
    )(_steadier_at(_lr))


@claim(
    "bn_steadier_long",
    "1.1.3",
    f"BatchNorm steadies the 100-epoch run: excess variation of its validation loss at most {STEADIER_RATIO:g}x "
    "the plain network's ('the peaks being less dramatic').",
    "with the peaks being less dramatic",
)
def bn_steadier_long(facts: dict, th) -> Finding:
    """As _bn_steadier, on the long runs."""
    return _bn_steadier(get(facts, "long", "plain"), get(facts, "long", "batchnorm"), "long run", th)


def _bn_pairs(facts: dict) -> dict:
    """lr -> (plain run, BatchNorm run) at the middle lrs, plain only compared with, BatchNorm judged."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    lrs = [lr for lr in _middles(batchnorm) if lr in plain]
    if not lrs:
        raise cannot("no middle learning rate is in both sweeps")
    return {
        lr: (live(plain[lr], _label("plain", lr), False), live(batchnorm[lr], _label("BatchNorm", lr), True))
        for lr in lrs
    }


@claim(
    "bn_stabilises_faster",
    "1.1.3",
    f"With BatchNorm the middle learning rates stabilise in fewer epochs: each one's validation loss stays within "
    f"{SETTLE_BAND:.0%} of its last-10-epoch level from an earlier epoch than the plain network's at that rate.",
    "both LRs are stabilizing faster (with less epochs)",
)
def bn_stabilises_faster(facts: dict, th) -> Finding:
    """Effect: the smallest gain in epochs (plain's settling epoch minus BatchNorm's). Plain diverged or collapsed:
    cannot be judged; BatchNorm diverged or collapsed: does not hold."""
    settle = {
        lr: [
            settle_epoch(run, "validation_loss", _label(v, lr), th.SETTLE_BAND)
            for v, run in zip(("plain", "BatchNorm"), runs)
        ]
        for lr, runs in _bn_pairs(facts).items()
    }
    return Finding(
        min(p - b for p, b in settle.values()),
        "settled by epoch (plain/BatchNorm): " + ", ".join(f"lr {lr:g}: {p:g}/{b:g}" for lr, (p, b) in settle.items()),
        {f"{v}_settle_epoch_lr{lr:g}": e for lr, pair in settle.items() for v, e in zip(("plain", "batchnorm"), pair)},
    )


@claim(
    "bn_remains_stable",
    "1.1.3",
    f"With BatchNorm the middle learning rates' validation loss stays stable after epoch {STEEP_EPOCH}: it never "
    f"rises {PEAK_RISE:.0%} or more above the evaluation before.",
    "remains stable throughout the training",
)
def bn_remains_stable(facts: dict, th) -> Finding:
    """Effect: PEAK_RISE minus the largest relative rise after epoch 20. BatchNorm diverged or collapsed: does not
    hold. Nothing after epoch 20: cannot be judged."""
    batchnorm = _sweep(facts, "batchnorm")
    rise = {
        lr: largest_rise(
            after(
                live(batchnorm[lr], _label("BatchNorm", lr), True),
                "validation_loss",
                _label("BatchNorm", lr),
                th.STEEP_EPOCH,
            )
        )
        for lr in _middles(batchnorm)
    }
    return Finding(
        th.PEAK_RISE - max(rise.values()),
        f"largest rise of the validation loss after epoch {th.STEEP_EPOCH}: "
        + ", ".join(f"BatchNorm lr {lr:g}: {r:.1%}" for lr, r in rise.items()),
        {f"largest_rise_lr{lr:g}": r for lr, r in rise.items()},
    )


@claim(
    "bn_smallest_lr_faster",
    "1.1.3",
    f"With BatchNorm the smallest learning rate learns faster: its lowest validation loss by epoch {EARLY_EPOCH} "
    "is below the plain network's at the same learning rate.",
    "the lowest LR also learns faster",
)
def bn_smallest_lr_faster(facts: dict, th) -> Finding:
    """Effect: plain's early loss minus BatchNorm's. BatchNorm diverged or collapsed: does not hold; plain diverged or
    collapsed: cannot be judged."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    common = set(plain) & set(batchnorm)
    if not common:
        raise cannot("no learning rate is in both sweeps")
    lr = min(common)
    bn = _early_best(live(batchnorm[lr], _label("BatchNorm", lr), True), _label("BatchNorm", lr), th)
    base = _early_best(live(plain[lr], _label("plain", lr), False), _label("plain", lr), th)
    return Finding(
        base - bn,
        f"lr {lr:g}, lowest validation loss by epoch {th.EARLY_EPOCH}: plain {fmt(base)}, BatchNorm {fmt(bn)}",
        {"lr": lr, "plain_early_best_loss": base, "batchnorm_early_best_loss": bn},
    )


@claim(
    "bn_lr1_unstable",
    "1.1.3",
    "With BatchNorm the largest learning rate is unstable: the other BatchNorm learning rates and the plain "
    f"network at that rate each have at most {STEADIER_RATIO:g}x its excess variation of the validation loss.",
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
    "With BatchNorm the largest learning rate is still the worst: over the last 10 epochs its mean validation loss "
    "is higher and its mean validation accuracy lower than every other BatchNorm learning rate's.",
    "so the highest LR is still ineffective",
)
def bn_lr1_worst(facts: dict, th) -> Finding:
    """Effect: the other lrs' lowest accuracy minus its own (points). Another BatchNorm lr diverged or collapsed:
    cannot be judged (worse than a broken run is moot); it collapsed: judged (the course saw it fail)."""
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
