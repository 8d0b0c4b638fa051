"""1.1.4 Batch size and epochs: the (batch size, epochs) pairs' accuracy, loss and stability. The speed sentence
("the training speed was faster with higher batch sizes") is a wall-clock claim, judged over repeated timings in the
timings report (stages/timings.py), not here: its seconds change from run to run.

Each check returns one seed's effect in its natural unit, > 0 where the course's sentence holds; settling and peaks
are read as in section 1.1.3 (trends.settle_epoch, trends.rise_scores)."""

import numpy as np

from nnrepro.report.claims import trends
from nnrepro.report.claims.core import Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import curve, excess_variation, final, get, live, note, number

# Thresholds: each a reading of the course's words; reference/thresholds.yaml says for each whether it was set before
# or after a committed result showed its quantity, and what it was before being re-derived from the words alone
# (a previous value in its unit, or the old rule in words).
FIRST_EVAL_SPREAD = 0.1  # "initial" values compare when the first evaluations lie within 10% of each other's epoch
# (each pair's first evaluation is a tenth of an epoch rounded to whole steps: one step of batch 1024 is ~10% of it)
ABOUT_ACC = 0.05  # "about 0.81": the same to its first decimal, within 5 points of the course's number
OVER_TIME_SHARE = 1.0  # "over time ... achieves better result": the time-average over the whole run
SETTLE_BAND = 0.10  # "stabilizing": within a tenth of the larger change of the curves compared of its level
SETTLE_OUTSIDE = 0.10  # "stays" settled: at most a tenth of the later evaluations outside the band
STEADIER_RATIO = 0.5  # "not noisy" against the other pair's "some noise": at most half its excess variation
PEAK_Z = 3.5  # "some noise (seen as the peaks)": a rise 3.5 robust z over the run's own steps (modified z-score)
PEAK_COUNT = 2  # "peaks", plural: at least two
LATE_TAIL = 0.25  # "would possibly require more epochs to reach stabilization": still falling over its last quarter
THRESHOLDS = (
    "FIRST_EVAL_SPREAD",
    "ABOUT_ACC",
    "OVER_TIME_SHARE",
    "SETTLE_BAND",
    "SETTLE_OUTSIDE",
    "STEADIER_RATIO",
    "PEAK_Z",
    "PEAK_COUNT",
    "LATE_TAIL",
)
ONE_EPOCH_BATCHES = (1, 16)  # the course's one-epoch pairs (1, 1) and (16, 1): the first does much better
LONG_BATCHES = (128, 1024)  # the course's 50-epoch pairs (128, 50) and (1024, 50)


def _pairs(facts: dict) -> dict:
    return get(facts, "batch")


def _pair(facts: dict, batch: int, one_epoch: bool) -> tuple:
    """(name, run) of the pair with this batch size: the one-epoch run, else the one with the most epochs."""
    found = {
        n: r for n, r in _pairs(facts).items() if r.get("batch_size") == batch and (r.get("epochs") == 1) == one_epoch
    }
    if not found:
        raise cannot(f"no {'one' if one_epoch else 'multi'}-epoch run with batch size {batch}")
    name = max(found, key=lambda n: (found[n].get("epochs") or 0, n))
    return name, found[name]


def _long_pairs(facts: dict) -> tuple:
    """((name, run) of batch 128, of batch 1024), trained for the same number of epochs."""
    small, large = (_pair(facts, b, False) for b in LONG_BATCHES)
    if small[1].get("epochs") != large[1].get("epochs"):
        raise cannot(f"{small[0]} and {large[0]} train for different numbers of epochs")
    return small, large


@claim(
    "batch1_beats_16",
    "1.1.4",
    f"After one epoch batch size {ONE_EPOCH_BATCHES[0]} beats batch size {ONE_EPOCH_BATCHES[1]}: higher final "
    "test accuracy.",
    "that is unlike (16, 1) pair, which achieves (much) worse result than the (1, 1) pair",
)
def batch1_beats_16(facts: dict, th) -> Finding:
    """Effect (accuracy): the difference. Either diverged: batch 1 does not hold, batch 16 cannot be judged; either
    collapsed: judged on its accuracy (a collapsed run still has one; the course saw batch 16 do 'much worse')."""
    small, large = (_pair(facts, b, True) for b in ONE_EPOCH_BATCHES)
    acc_small = final(live(small[1], small[0], True, failing=True), "test_acc", small[0])
    acc_large = final(live(large[1], large[0], False, failing=True), "test_acc", large[0])
    return Finding(
        acc_small - acc_large,
        f"test accuracy after one epoch: {small[0]} {fmt(acc_small)}, {large[0]} {fmt(acc_large)}",
        {"small_test_acc": acc_small, "large_test_acc": acc_large},
        note=note(large[1]),
    )


@claim(
    "batch1_about_course",
    "1.1.4",
    f"After one epoch batch size {ONE_EPOCH_BATCHES[0]} reaches about the course's test accuracy (0.81): within "
    f"{ABOUT_ACC * 100:g} points of it.",
    "the (1, 1) pair achieves good accuracy (about 0.81)",
)
def batch1_about_course(facts: dict, th) -> Finding:
    """Effect (accuracy): ABOUT_ACC minus the distance to the course's number. Diverged: does not hold; collapsed:
    judged on its accuracy, the verdict says so. The course's number missing from the facts: cannot be judged."""
    course = number(get(facts, "course", "1.1.4").get("batch_1_one_epoch_test_acc"), "the course's batch-1 accuracy")
    name, run = _pair(facts, ONE_EPOCH_BATCHES[0], True)
    acc = final(live(run, name, True, failing=True), "test_acc", name)
    return Finding(
        th.ABOUT_ACC - abs(acc - course),
        f"{name} test accuracy {fmt(acc)}; course {fmt(course)}",
        {"test_acc": acc, "course_test_acc": course},
        note=note(run),
    )


def _initial(facts: dict, key: str, falls: bool, th) -> Finding:
    """Effect (the value's unit): the smallest step of the ordering by batch size. Any pair diverged or collapsed,
    missing its first value, or first evaluated at another epoch: cannot be judged."""
    first = {}
    for name, run in sorted(_pairs(facts).items()):
        live(run, name, False, "its first evaluation is not a sound point of the ordering")
        values, epochs = run.get(key) or [None], run.get("epoch") or [None]
        first[name] = (
            int(run["batch_size"]),
            number(epochs[0], f"{name}'s first epoch"),
            number(values[0], f"{name}'s first {key}"),
        )
    epochs = [e for _, e, _ in first.values()]
    if max(epochs) > min(epochs) * (1 + th.FIRST_EVAL_SPREAD):
        raise cannot(
            f"the pairs' first evaluations lie at epochs {min(epochs):g} to {max(epochs):g}, more than "
            f"{th.FIRST_EVAL_SPREAD:.0%} apart: not comparable"
        )
    items = sorted(first.values())
    steps = [(a[2] - b[2]) * (1 if falls else -1) for a in items for b in items if a[0] < b[0]]
    if not steps:
        raise cannot("fewer than two batch sizes")
    wrong = sum(1 for s in steps if s <= 0)
    return Finding(
        min(steps),
        f"first {key} at epochs {min(epochs):.3g}-{max(epochs):.3g}: "
        + ", ".join(f"batch {b}: {fmt(v)}" for b, _, v in items)
        + f"; {wrong} pair(s) out of order",
        {**{f"initial_{key}_{name}": v for name, (_, _, v) in first.items()}, "out_of_order": wrong},
    )


@claim(
    "initial_acc_falls",
    "1.1.4",
    "The initial test accuracy (first evaluation) falls as the batch size grows, regardless of epochs: no pair "
    "out of order.",
    "the **initial** accuracy of the model is lower as the batch size increases, regardless of epochs",
)
def initial_acc_falls(facts: dict, th) -> Finding:
    """As _initial, on the test accuracy."""
    return _initial(facts, "test_acc", True, th)


@claim(
    "initial_loss_rises",
    "1.1.4",
    "The initial test loss (first evaluation) rises as the batch size grows, regardless of epochs: no pair out of "
    "order.",
    "higher batch size = higher **initial** loss",
)
def initial_loss_rises(facts: dict, th) -> Finding:
    """As _initial, on the test loss."""
    return _initial(facts, "test_loss", False, th)


def _time_average(run: dict, label: str, key: str, share: float) -> float:
    """The time-average of `key` over the last `share` of the run's epochs (trapezoids, so that the first epoch's
    dense evaluations weigh as one epoch)."""
    epochs, values = curve(run, key, label)
    keep = epochs >= epochs[-1] - share * epochs[-1]
    e, v = epochs[keep], values[keep]
    if len(e) < 2:
        return float(v.mean())
    return float(np.sum((v[1:] + v[:-1]) / 2 * np.diff(e)) / (e[-1] - e[0]))


@claim(
    "b128_beats_b1024",
    "1.1.4",
    f"Over the same number of epochs batch size {LONG_BATCHES[0]} achieves better results than batch size "
    f"{LONG_BATCHES[1]} over time: higher test accuracy averaged over the run's epochs.",
    "over time the 128 batch size achieves better result",
)
def b128_beats_b1024(facts: dict, th) -> Finding:
    """Effect (accuracy): the difference of the test accuracies' time-averages over the last OVER_TIME_SHARE of the
    run (1.0: all of it, "over time"). Batch 128 diverged: does not hold; collapsed: judged on its accuracy. Batch
    1024 diverged or collapsed, or trained for other epochs: cannot be judged."""
    small, large = _long_pairs(facts)
    acc_small = _time_average(live(small[1], small[0], True, failing=True), small[0], "test_acc", th.OVER_TIME_SHARE)
    acc_large = _time_average(live(large[1], large[0], False), large[0], "test_acc", th.OVER_TIME_SHARE)
    return Finding(
        acc_small - acc_large,
        f"test accuracy averaged over the last {th.OVER_TIME_SHARE:.0%} of the epochs: {small[0]} {fmt(acc_small)}, "
        f"{large[0]} {fmt(acc_large)}",
        {"epochs": small[1].get("epochs"), "small_test_acc": acc_small, "large_test_acc": acc_large},
        note=note(small[1]),
    )


def _loss(run: dict, name: str, subject: bool) -> tuple[np.ndarray, np.ndarray]:
    return curve(live(run, name, subject), "test_loss", name, least=3)


@claim(
    "b128_stabilises_faster",
    "1.1.4",
    f"Batch size {LONG_BATCHES[0]} stabilises faster than {LONG_BATCHES[1]}: its test loss settles (stays within "
    f"{SETTLE_BAND:.0%} of the larger curve's change of its last-10-epoch level, bar {SETTLE_OUTSIDE:.0%} of the later "
    "evaluations) at an earlier epoch.",
    "(128, 50) is stabilizing faster",
)
def b128_stabilises_faster(facts: dict, th) -> Finding:
    """Effect (epochs): batch 1024's settling epoch minus batch 128's, both in a band of the larger of their changes.
    Batch 128 diverged or collapsed: does not
    hold; batch 1024 diverged or collapsed: cannot be judged."""
    small, large = _long_pairs(facts)
    curves = [_loss(run, name, subject) for (name, run), subject in ((small, True), (large, False))]
    scale = trends.common_scale(*curves)
    settle = [trends.settle_epoch(e, v, th.SETTLE_BAND, th.SETTLE_OUTSIDE, scale) for e, v in curves]
    return Finding(
        settle[1] - settle[0],
        f"test loss settled from epoch: {small[0]} {settle[0]:g}, {large[0]} {settle[1]:g}",
        {"small_settle_epoch": settle[0], "large_settle_epoch": settle[1]},
    )


def _whole_epochs(epochs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The values evaluated at the end of each epoch (epoch >= 1), where the first epoch's steep fall is over."""
    return values[epochs >= 1]


@claim(
    "b128_some_noise",
    "1.1.4",
    f"Batch size {LONG_BATCHES[0]}'s test loss has some noise: at least {PEAK_COUNT} rises from one epoch to the "
    f"next stand {PEAK_Z:g} robust z or more above its own steps (modified z-score).",
    "but there's some noise (seen as the peaks for the orange plot in Fig. 6)",
)
def b128_some_noise(facts: dict, th) -> Finding:
    """Effect (robust z): the PEAK_COUNT-th largest rise's score over the whole-epoch evaluations minus PEAK_Z.
    Diverged or collapsed: does not hold (a run that learns nothing has no noise of learning); fewer evaluations than
    peaks: cannot be judged."""
    name, run = _long_pairs(facts)[0]
    loss = _whole_epochs(*_loss(run, name, True))
    if len(loss) < th.PEAK_COUNT + 2:
        raise cannot(f"{name} has fewer than {th.PEAK_COUNT + 2} whole-epoch test losses")
    scores = trends.rise_scores(loss)
    peak = float(scores[th.PEAK_COUNT - 1])
    return Finding(
        peak - th.PEAK_Z,
        f"largest rises of {name}'s test loss from epoch to epoch, in robust z of its steps: "
        + ", ".join(f"{z:.3g}" for z in scores[: th.PEAK_COUNT + 1]),
        {"peak_z": peak, "largest_z": float(scores[0]), "peaks": int((scores >= th.PEAK_Z).sum())},
    )


@claim(
    "b1024_not_noisy",
    "1.1.4",
    f"Batch size {LONG_BATCHES[1]} is not noisy next to {LONG_BATCHES[0]}: the excess variation of its test loss "
    f"is at most {STEADIER_RATIO:g}x batch {LONG_BATCHES[0]}'s.",
    "unlike the previous pair it is not noisy",
)
def b1024_not_noisy(facts: dict, th) -> Finding:
    """Effect (a ratio): STEADIER_RATIO minus the ratio of excess variations. Batch 1024 diverged or collapsed: does
    not hold (a run that learns nothing is trivially calm); batch 128 diverged or collapsed: cannot be judged; batch
    128 without any noise: does not hold."""
    small, large = _long_pairs(facts)
    calm = excess_variation(_loss(large[1], large[0], True)[1])
    noisy = excess_variation(_loss(small[1], small[0], False)[1])
    if noisy <= 0:
        raise fails(f"{small[0]}'s test loss has no noise to compare with")
    return Finding(
        th.STEADIER_RATIO - calm / noisy,
        f"excess variation of the test loss: {small[0]} {fmt(noisy)}, {large[0]} {fmt(calm)}",
        {"small_excess_variation": noisy, "large_excess_variation": calm},
    )


@claim(
    "b1024_needs_more_epochs",
    "1.1.4",
    f"Batch size {LONG_BATCHES[1]} has not stabilised by its last epoch: over the last {LATE_TAIL:.0%} of the run a "
    f"straight line through its test loss still falls by more than {SETTLE_BAND:.0%} of the curve's change.",
    "it would possibly require more epochs to reach stabilization",
)
def b1024_needs_more_epochs(facts: dict, th) -> Finding:
    """Effect (shares of the curve's change): the fitted decline over the last LATE_TAIL of the run minus SETTLE_BAND.
    Diverged or collapsed: does not hold (the course saw it learn, slowly)."""
    name, run = _long_pairs(facts)[1]
    epochs, loss = _loss(run, name, True)
    decline = trends.tail_decline(epochs, loss, th.LATE_TAIL)
    return Finding(
        decline - th.SETTLE_BAND,
        f"{name}'s test loss over its last {th.LATE_TAIL:.0%} of epochs: a fitted fall of {decline:.1%} of its change",
        {"tail_decline": decline},
    )
