"""1.1 Optimisation of an MLP: the learning-rate sweep, the long run, BatchNorm, batch-size/epoch pairs."""

import math

import numpy as np

from nnrepro.report.claims.core import cannot, claim, curve, fails, final, fmt, get, live, number

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
STALL_DROP = 0.10          # "stable (in a bad way)": best validation loss less than 10% under the first evaluation's
STILL_FALLING_TAIL = 0.25  # "still descending": the run sets a new lowest validation loss in its last quarter
EARLY_EPOCH = 5            # "early on" / "with less epochs": the evaluations up to epoch 5
STEEP_EPOCH = 20           # "the most dramatic change ... happens up until the ~20th epoch"
EARLY_DROP_SHARE = 0.80    # "most dramatic change": at least 80% of the first-to-best drop is done by epoch 20
LATE_CHANGE_SHARE = 0.25   # "no dramatic change" after: median later loss within 25% of that drop of the epoch-20 level
STEADIER_RATIO = 0.8       # "fewer / less dramatic peaks": excess variation at most 0.8x the other curve's, not a tie
BN_STEADY_LR = 0.01        # the course names lr 0.01 as where BatchNorm removes the most peaks
ONE_EPOCH_BATCHES = (1, 16)     # the course's one-epoch pairs (1, 1) and (16, 1): the first does much better
LONG_BATCHES = (128, 1024)      # the course's 50-epoch pairs (128, 50) and (1024, 50): the first ends better
ORDER_EXCEPTIONS = 0       # "lower as the batch size increases, regardless of epochs": no pair of pairs out of order
FIRST_EVAL_SPREAD = 0.1    # "initial" values compare when the first evaluations lie within 10% of each other's epoch
                           # (a tenth of an epoch is 10 steps of batch 1024 but 10,690 of batch 1: not all equal)


def _early_best(run: dict, label: str) -> float:
    """Lowest validation loss up to EARLY_EPOCH (the loss at init is the same for every lr)."""
    epochs, loss = curve(run, "validation_loss", label)
    if not (epochs <= EARLY_EPOCH).any():
        raise cannot(f"{label} has no validation loss by epoch {EARLY_EPOCH}")
    return float(loss[epochs <= EARLY_EPOCH].min())


def excess_variation(values) -> float:
    """Total variation beyond the net change: 0 for a monotone curve, grows with every peak."""
    v = np.asarray(values, float)
    return float(np.abs(np.diff(v)).sum() - abs(v[-1] - v[0])) if len(v) > 1 else 0.0


def _wiggles(runs: dict) -> dict:
    """label -> excess variation of the validation loss over the evaluations every run has."""
    curves = {label: curve(run, "validation_loss", label, least=3)[1] for label, run in runs.items()}
    n = min(len(c) for c in curves.values())
    return {label: excess_variation(c[:n]) for label, c in curves.items()}


def _sweep(facts: dict, variant: str) -> dict:
    return {float(lr): run for lr, run in get(facts, "lr_sweep", variant).items()}


def _label(variant: str, lr: float) -> str:
    return f"{variant} lr {lr:g}"



# --- 1.1 Optimisation of an MLP --------------------------------------------------------------------------
@claim("lr_largest_stalls", "1.1.1",
        f"The largest learning rate stalls: its best validation loss is less than {STALL_DROP:.0%} under its "
        "first evaluation's, and another learning rate reaches a lower loss (stable 'in a bad way').")
def lr_largest_stalls(facts: dict, numbers: dict) -> tuple:
    """Diverged: does not hold (the course's curve was flat and finite). Other lrs all diverged: cannot be judged."""
    runs = _sweep(facts, "plain")
    lr = max(runs)
    numbers["lr"] = lr
    _, loss = curve(live(runs[lr], _label("plain", lr), True), "validation_loss", _label("plain", lr), least=2)
    if loss[0] <= 0:
        raise cannot(f"plain lr {lr:g}'s first validation loss is {loss[0]:g}: no relative drop")
    others = {r: run for r, run in runs.items() if r != lr and not run.get("diverged")}
    if not others:
        raise cannot("no other learning rate trained without diverging: 'in a bad way' cannot be compared")
    other_best = min(curve(run, "validation_loss", _label("plain", r))[1].min() for r, run in others.items())
    drop = (loss[0] - loss.min()) / loss[0]
    numbers.update(first_loss=loss[0], best_loss=loss.min(), drop=drop, other_best_loss=other_best)
    return (drop < STALL_DROP and loss.min() > other_best,
            f"lr {lr:g}: validation loss {fmt(loss[0])} -> best {fmt(loss.min())} ({drop:.1%} lower); "
            f"best of the other lrs {fmt(other_best)}")


@claim("lr_smallest_slow", "1.1.1",
        f"The smallest learning rate descends but slowly: its validation loss falls by {STALL_DROP:.0%} or more, "
        f"is still reaching new lows in the last {STILL_FALLING_TAIL:.0%} of the run, and ends above the best "
        "loss of every middle learning rate.")
def lr_smallest_slow(facts: dict, numbers: dict) -> tuple:
    """Diverged: does not hold (it does not descend). A middle lr diverged or absent: cannot be judged."""
    runs = _sweep(facts, "plain")
    lr, middles = min(runs), sorted(r for r in runs if min(runs) < r < max(runs))
    if not middles:
        raise cannot(f"no learning rate between {min(runs):g} and {max(runs):g} to compare with")
    label = _label("plain", lr)
    _, loss = curve(live(runs[lr], label, True), "validation_loss", label, least=4)
    if loss[0] <= 0:
        raise cannot(f"{label}'s first validation loss is {loss[0]:g}: no relative drop")
    tail = math.ceil(STILL_FALLING_TAIL * len(loss))
    middle_best = max(curve(live(runs[r], _label("plain", r), False), "validation_loss",
                             _label("plain", r))[1].min() for r in middles)
    drop = (loss[0] - loss[-1]) / loss[0]
    falling = bool(loss[-tail:].min() < loss[:-tail].min())
    numbers.update(lr=lr, first_loss=loss[0], final_loss=loss[-1], drop=drop, still_falling=falling,
                   middle_best_loss=middle_best)
    return (drop >= STALL_DROP and falling and loss[-1] > middle_best,
            f"lr {lr:g}: validation loss {fmt(loss[0])} -> {fmt(loss[-1])} ({drop:.1%} lower), "
            f"{'still' if falling else 'no longer'} falling in its last {tail} evaluations; "
            f"the middle lrs reach {fmt(middle_best)} or lower")


@claim("lr_middle_best", "1.1.1",
        f"The middle learning rates (the course's 0.01 and 0.001) descend the most early on: each one's lowest "
        f"validation loss by epoch {EARLY_EPOCH} is below both the largest and the smallest learning rate's.")
def lr_middle_best(facts: dict, numbers: dict) -> tuple:
    """A middle lr diverged: does not hold (it did not descend). An extreme lr diverged: cannot be judged."""
    runs = _sweep(facts, "plain")
    middles = sorted(r for r in runs if min(runs) < r < max(runs))
    if not middles:
        raise cannot("fewer than three learning rates: no middle ones")
    middle = {r: _early_best(live(runs[r], _label("plain", r), True), _label("plain", r)) for r in middles}
    extreme = {r: _early_best(live(runs[r], _label("plain", r), False), _label("plain", r))
               for r in (min(runs), max(runs))}
    numbers.update({f"early_best_loss_lr{r:g}": v for r, v in sorted({**middle, **extreme}.items())})
    return (max(middle.values()) < min(extreme.values()),
            f"lowest validation loss by epoch {EARLY_EPOCH}: "
            + ", ".join(f"lr {r:g}: {fmt(v)}" for r, v in sorted({**middle, **extreme}.items(), reverse=True)))


@claim("long_early_drop", "1.1.2",
        f"In the 100-epoch run the validation loss drops steeply up to about epoch {STEEP_EPOCH} (at least "
        f"{EARLY_DROP_SHARE:.0%} of the first-to-best drop by then), then changes little (median later loss within "
        f"{LATE_CHANGE_SHARE:.0%} of that drop of the epoch-{STEEP_EPOCH} level).")
def long_early_drop(facts: dict, numbers: dict) -> tuple:
    """Diverged: does not hold (no calm plateau). Too short to reach past epoch 20: cannot be judged."""
    run = live(get(facts, "long", "plain"), "the long plain run", True)
    epochs, loss = curve(run, "validation_loss", "the long plain run", least=2)
    early, late = loss[epochs <= STEEP_EPOCH], loss[epochs > STEEP_EPOCH]
    if not len(early) or not len(late):
        raise cannot(f"the long plain run has no evaluations on both sides of epoch {STEEP_EPOCH}")
    drop = loss[0] - loss.min()
    if drop <= 0:
        raise fails("the long plain run never goes below its first validation loss")
    share, change = (loss[0] - early.min()) / drop, abs(np.median(late) - early.min()) / drop
    numbers.update(first_loss=loss[0], best_loss=loss.min(), early_best_loss=early.min(),
                   late_median_loss=np.median(late), early_share=share, late_change=change)
    return (share >= EARLY_DROP_SHARE and change <= LATE_CHANGE_SHARE,
            f"{share:.0%} of the drop {fmt(loss[0])} -> {fmt(loss.min())} done by epoch {STEEP_EPOCH}; "
            f"later median {fmt(np.median(late))}, {change:.0%} of the drop from the epoch-{STEEP_EPOCH} level")


def _bn_steadier(plain: dict, batchnorm: dict, what: str, numbers: dict) -> tuple:
    """Plain diverged: cannot be judged; BatchNorm diverged: does not hold."""
    live(plain, f"plain {what}", False)
    live(batchnorm, f"BatchNorm {what}", True)
    wiggle = _wiggles({"plain": plain, "batchnorm": batchnorm})
    numbers.update(plain_excess_variation=wiggle["plain"], batchnorm_excess_variation=wiggle["batchnorm"])
    return (wiggle["batchnorm"] < STEADIER_RATIO * wiggle["plain"],
            f"excess variation of the validation loss, {what}: plain {fmt(wiggle['plain'])}, "
            f"BatchNorm {fmt(wiggle['batchnorm'])}")


@claim("bn_steadier_lr001", "1.1.3",
        f"BatchNorm steadies the validation-loss curve at lr {BN_STEADY_LR:g}: its excess variation (total "
        f"variation beyond the net change) is at most {STEADIER_RATIO:g}x the plain network's.")
def bn_steadier_lr001(facts: dict, numbers: dict) -> tuple:
    """lr 0.01 absent from either sweep: cannot be judged (the course names it). Diverged: see _bn_steadier."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    if BN_STEADY_LR not in plain or BN_STEADY_LR not in batchnorm:
        raise cannot(f"lr {BN_STEADY_LR:g} is not in both sweeps")
    return _bn_steadier(plain[BN_STEADY_LR], batchnorm[BN_STEADY_LR], f"lr {BN_STEADY_LR:g}", numbers)


@claim("bn_steadier_long", "1.1.3",
        f"BatchNorm steadies the 100-epoch run: excess variation of its validation loss at most "
        f"{STEADIER_RATIO:g}x the plain network's ('the peaks being less dramatic').")
def bn_steadier_long(facts: dict, numbers: dict) -> tuple:
    """Plain long run diverged: cannot be judged; BatchNorm long run diverged: does not hold."""
    return _bn_steadier(get(facts, "long", "plain"), get(facts, "long", "batchnorm"), "long run", numbers)


@claim("bn_smallest_lr_faster", "1.1.3",
        f"With BatchNorm the smallest learning rate learns faster: its lowest validation loss by epoch "
        f"{EARLY_EPOCH} is below the plain network's at the same learning rate.")
def bn_smallest_lr_faster(facts: dict, numbers: dict) -> tuple:
    """BatchNorm run diverged: does not hold; plain run diverged: cannot be judged."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    common = set(plain) & set(batchnorm)
    if not common:
        raise cannot("no learning rate is in both sweeps")
    lr = min(common)
    bn = _early_best(live(batchnorm[lr], _label("BatchNorm", lr), True), _label("BatchNorm", lr))
    base = _early_best(live(plain[lr], _label("plain", lr), False), _label("plain", lr))
    numbers.update(lr=lr, plain_early_best_loss=base, batchnorm_early_best_loss=bn)
    return bn < base, (f"lr {lr:g}, lowest validation loss by epoch {EARLY_EPOCH}: plain {fmt(base)}, "
                       f"BatchNorm {fmt(bn)}")


@claim("bn_lr1_unstable", "1.1.3",
        "With BatchNorm the largest learning rate is unstable: the other BatchNorm learning rates and the plain "
        f"network at that rate each have at most {STEADIER_RATIO:g}x its excess variation of the validation loss.")
def bn_lr1_unstable(facts: dict, numbers: dict) -> tuple:
    """Any of them diverged: cannot be judged (a diverged curve has no measurable wiggle; the course's was finite)."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    if not set(plain) & set(batchnorm) or len(batchnorm) < 2:
        raise cannot("need the largest lr in both sweeps and another BatchNorm lr")
    lr = max(set(plain) & set(batchnorm))
    subject, base = _label("BatchNorm", lr), _label("plain", lr)
    runs = {**{_label("BatchNorm", r): run for r, run in batchnorm.items()}, base: plain[lr]}
    for label, run in runs.items():
        live(run, label, False, "no finite curve whose wiggles could be measured")
    wiggle = _wiggles(runs)
    others = max(v for label, v in wiggle.items() if label not in (subject, base))
    numbers.update(lr=lr, batchnorm_excess_variation=wiggle[subject], plain_excess_variation=wiggle[base],
                   other_batchnorm_max_excess_variation=others)
    return (max(others, wiggle[base]) < STEADIER_RATIO * wiggle[subject],
            f"excess variation: {subject} {fmt(wiggle[subject])}, {base} {fmt(wiggle[base])}, "
            f"other BatchNorm lrs at most {fmt(others)}")


@claim("bn_lr1_worst", "1.1.3",
        "With BatchNorm the largest learning rate is still the worst: its final validation loss is higher and its "
        "final validation accuracy lower than every other BatchNorm learning rate's.")
def bn_lr1_worst(facts: dict, numbers: dict) -> tuple:
    """Any BatchNorm run diverged or lacking a final value: cannot be judged (worse than a diverged run is moot)."""
    runs = _sweep(facts, "batchnorm")
    if len(runs) < 2:
        raise cannot("fewer than two BatchNorm learning rates")
    ends = {}
    for lr, run in runs.items():
        label = _label("BatchNorm", lr)
        live(run, label, False, "it has no final value to rank")
        ends[lr] = (final(run, "validation_loss", label), final(run, "validation_acc", label))
    lr = max(runs)
    others = [v for r, v in ends.items() if r != lr]
    loss, acc = ends[lr]
    numbers.update(lr=lr, final_loss=loss, final_acc=acc, others_max_loss=max(o[0] for o in others),
                   others_min_acc=min(o[1] for o in others))
    return (all(loss > o[0] and acc < o[1] for o in others),
            f"final validation loss/accuracy: lr {lr:g} {fmt(loss)}/{fmt(acc)}; others' loss at most "
            f"{fmt(numbers['others_max_loss'])}, accuracy at least {fmt(numbers['others_min_acc'])}")


# --- 1.1.4 Batch size ------------------------------------------------------------------------------------
def _pairs(facts: dict) -> dict:
    return get(facts, "batch")


def _pair(facts: dict, batch: int, one_epoch: bool) -> tuple:
    """(name, run) of the pair with this batch size: the one-epoch run, else the one with the most epochs."""
    found = {n: r for n, r in _pairs(facts).items() if r.get("batch_size") == batch
             and (r.get("epochs") == 1) == one_epoch}
    if not found:
        raise cannot(f"no {'one' if one_epoch else 'multi'}-epoch run with batch size {batch}")
    name = max(found, key=lambda n: (found[n].get("epochs") or 0, n))
    return name, found[name]


@claim("batch1_beats_16", "1.1.4",
        f"After one epoch batch size {ONE_EPOCH_BATCHES[0]} beats batch size {ONE_EPOCH_BATCHES[1]}: "
        "higher final test accuracy.")
def batch1_beats_16(facts: dict, numbers: dict) -> tuple:
    """Batch 1 diverged: does not hold; batch 16 diverged: cannot be judged."""
    small, large = (_pair(facts, b, True) for b in ONE_EPOCH_BATCHES)
    acc_small = final(live(small[1], small[0], True), "test_acc", small[0])
    acc_large = final(live(large[1], large[0], False), "test_acc", large[0])
    numbers.update(small_test_acc=acc_small, large_test_acc=acc_large)
    return acc_small > acc_large, (f"test accuracy after one epoch: {small[0]} {fmt(acc_small)}, "
                                   f"{large[0]} {fmt(acc_large)}")


@claim("larger_batches_faster", "1.1.4",
        "Larger batches take less time per epoch: seconds per epoch fall strictly as the batch size grows.",
        timing=True)
def larger_batches_faster(facts: dict, numbers: dict) -> tuple:
    """Missing seconds or a diverged pair (it may have stopped early, timing other work): cannot be judged.
    numbers holds no seconds: they go to the evidence only."""
    seconds = {}
    for name, run in _pairs(facts).items():
        live(run, name, False, "it may have stopped early, so its seconds time other work")
        seconds.setdefault(int(run["batch_size"]), []).append(number(run.get("seconds_per_epoch"),
                                                                      f"{name}'s seconds per epoch"))
    if len(seconds) < 2:
        raise cannot("fewer than two batch sizes timed")
    mean = [float(np.mean(seconds[b])) for b in sorted(seconds)]
    numbers.update(batch_sizes=", ".join(map(str, sorted(seconds))), pairs=len(_pairs(facts)))
    return (all(a > b for a, b in zip(mean, mean[1:])),
            "seconds per epoch: " + ", ".join(f"batch {b}: {s:.3g}" for b, s in zip(sorted(seconds), mean)))


def _initial(facts: dict, key: str, falls: bool, numbers: dict) -> tuple:
    """First evaluation of every pair, ordered by batch size; any pair diverged or missing: cannot be judged."""
    first = {}
    for name, run in sorted(_pairs(facts).items()):
        live(run, name, False, "its first evaluation is not a sound point of the ordering")
        values, epochs = run.get(key) or [None], run.get("epoch") or [None]
        first[name] = (int(run["batch_size"]), number(epochs[0], f"{name}'s first epoch"),
                       number(values[0], f"{name}'s first {key}"))
    epochs = [e for _, e, _ in first.values()]
    if max(epochs) > min(epochs) * (1 + FIRST_EVAL_SPREAD):
        raise cannot(f"the pairs' first evaluations lie at epochs {min(epochs):g} to {max(epochs):g}, more than "
                      f"{FIRST_EVAL_SPREAD:.0%} apart: not comparable")
    if len({b for b, _, _ in first.values()}) < 2:
        raise cannot("fewer than two batch sizes")
    items = list(first.values())
    wrong = sum(1 for a in items for b in items if a[0] < b[0] and (a[2] <= b[2] if falls else a[2] >= b[2]))
    numbers.update({f"initial_{key}_{name}": v for name, (_, _, v) in first.items()}, out_of_order=wrong)
    return (wrong <= ORDER_EXCEPTIONS,
            f"first {key} at epochs {min(epochs):.3g}-{max(epochs):.3g}: " + ", ".join(
                f"batch {b}: {fmt(v)}" for b, _, v in sorted(items)) + f"; {wrong} pair(s) out of order")


@claim("initial_acc_falls", "1.1.4",
        "The initial test accuracy (first evaluation) falls as the batch size grows, regardless of epochs: "
        f"at most {ORDER_EXCEPTIONS} pairs out of order.")
def initial_acc_falls(facts: dict, numbers: dict) -> tuple:
    """Any pair diverged, missing its first value, or first evaluated at another epoch: cannot be judged."""
    return _initial(facts, "test_acc", True, numbers)


@claim("initial_loss_rises", "1.1.4",
        "The initial test loss (first evaluation) rises as the batch size grows, regardless of epochs: "
        f"at most {ORDER_EXCEPTIONS} pairs out of order.")
def initial_loss_rises(facts: dict, numbers: dict) -> tuple:
    """Any pair diverged, missing its first value, or first evaluated at another epoch: cannot be judged."""
    return _initial(facts, "test_loss", False, numbers)


@claim("b128_beats_b1024", "1.1.4",
        f"Over the same number of epochs batch size {LONG_BATCHES[0]} ends above batch size {LONG_BATCHES[1]} "
        "in final test accuracy.")
def b128_beats_b1024(facts: dict, numbers: dict) -> tuple:
    """Batch 128 diverged: does not hold; batch 1024 diverged, or trained for other epochs: cannot be judged."""
    small, large = (_pair(facts, b, False) for b in LONG_BATCHES)
    if small[1].get("epochs") != large[1].get("epochs"):
        raise cannot(f"{small[0]} and {large[0]} train for different numbers of epochs")
    acc_small = final(live(small[1], small[0], True), "test_acc", small[0])
    acc_large = final(live(large[1], large[0], False), "test_acc", large[0])
    numbers.update(epochs=small[1].get("epochs"), small_test_acc=acc_small, large_test_acc=acc_large)
    return acc_small > acc_large, f"final test accuracy: {small[0]} {fmt(acc_small)}, {large[0]} {fmt(acc_large)}"
