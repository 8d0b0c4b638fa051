"""The course report's claims, each a check over plain numbers: holds, does not hold, or cannot be judged.

Policy for bad input (each check's docstring says which case applies): a missing part (key, run, cell,
empty list, None/NaN value) is "cannot be judged"; a run the claim is *about* that diverged or died "does
not hold" where the course saw it behave (descend, stall, steady, beat); a run it is only *compared with*
that diverged is "cannot be judged", since beating a broken run says nothing. Degenerate input never holds.
"""

import functools
import math

import numpy as np

# --- Thresholds: each a reading of the course's words, not of any run of ours ---------------------------
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
ACC_GAP = 0.03             # "converge quite near" / "did not overfit": train accuracy 3 points or less above val/test
UNDERFIT_MARGIN = 0.05     # "underfitted" next to the best model: validation and train accuracy 5+ points below its
SHALLOW_DEPTHS = (1, 2)    # "the lowest depths (specifically 1 and 2)"
DEEP_DEPTHS = (6, 10)      # "the higher depths" they fall below
NO_GAIN_MARGIN = 0.01      # "slight decay" at depth 10: it beats depth 6 by at most 1 point of validation accuracy
SWEET_WIDTH = 32           # "a sweet-spot hanging over the width of 32"
OVERFIT_WIDTH = 64         # "looking at width 64, we might have a case of overfitting"
LAST_LAYERS_SPAN = 5       # "all the layers before the 95th" of 100 vanish: the last 5 layers keep a gradient
GRADIENT_RATIO = 1e-3      # squared norms: under 1e-3x the reference a layer has vanished ("y = 0"); at/above, alive
MOST_SEEDS = 0.5           # "most seeds": strictly more than half of them
LOW_LR = 1e-3              # a "low" CNN learning rate: at most 1e-3 (the course's best fine-tune lr is 1e-4)
HIGH_LR = 1e-2             # the "higher LRs" of the CNN sweep: at least 1e-2 (the course's 0.1 and 0.01)
CHANCE = 0.5               # two balanced classes, real and fake faces
NEAR_CHANCE = 0.10         # "near chance": within 10 points of 0.5 (the course's scratch cells span 0.49 to 0.5675)
ON_PAR = 0.025             # "on par": within 2.5 points, ~one standard error of an accuracy near 0.7 on 400 test images
SIG_DIGITS = 6             # numbers rounded to 6 significant digits: the same facts give the same bytes

HOLDS, FAILS, CANNOT = "holds", "does not hold", "cannot be judged"
VERDICTS = (HOLDS, FAILS, CANNOT)


class _Verdict(Exception):
    """Ends a check early with a verdict other than the computed one (bad input)."""

    def __init__(self, verdict: str, evidence: str):
        super().__init__(evidence)
        self.verdict, self.evidence = verdict, evidence


def _cannot(evidence: str) -> _Verdict:
    return _Verdict(CANNOT, evidence)


def _fails(evidence: str) -> _Verdict:
    return _Verdict(FAILS, evidence)


def _round(value):
    """A JSON-safe, deterministic number: 6 significant digits, non-finite as None."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(f"{float(value):.{SIG_DIGITS}g}") if math.isfinite(value) else None
    return str(value)


def _claim(cid: str, section: str, text: str, timing: bool = False):
    """Turn check(facts, numbers) -> (holds, evidence) into a claim function returning the result dict."""
    def wrap(check):
        @functools.wraps(check)
        def judged(facts: dict) -> dict:
            numbers = {}
            try:
                holds, evidence = check(facts, numbers)
                verdict = HOLDS if holds else FAILS
            except _Verdict as stop:
                verdict, evidence = stop.verdict, stop.evidence
            except (KeyError, TypeError, IndexError, ValueError, AttributeError) as error:
                verdict, evidence = CANNOT, f"malformed facts: {type(error).__name__}: {error}"
            return {"id": cid, "section": section, "claim": text, "verdict": verdict,
                    "numbers": {k: _round(v) for k, v in numbers.items()}, "evidence": evidence, "timing": timing}
        judged.claim_id = cid
        return judged
    return wrap


# --- Reading the facts -----------------------------------------------------------------------------------
def _get(facts: dict, *keys):
    """facts[k1][k2]...; a missing key, None or empty container cannot be judged."""
    node = facts
    for key in keys:
        if not isinstance(node, dict) or node.get(key) is None:
            raise _cannot(f"no {'.'.join(map(str, keys))} in the facts")
        node = node[key]
    if isinstance(node, (dict, list)) and not node:
        raise _cannot(f"{'.'.join(map(str, keys))} is empty")
    return node


def _number(value, label: str) -> float:
    if value is None or not math.isfinite(float(value)):
        raise _cannot(f"{label} is missing (None or not finite)")
    return float(value)


def _live(run: dict, label: str, subject: bool, why: str = "nothing sound to compare with") -> dict:
    """The run itself; diverged: does not hold if the claim is about it, cannot be judged (for `why`) if not."""
    if run.get("diverged"):
        if subject:
            raise _fails(f"{label} diverged, so it does not behave as the course saw")
        raise _cannot(f"{label} diverged: {why}")
    return run


def _curve(run: dict, key: str, label: str, least: int = 1) -> tuple:
    """(epochs, values) of one history, evaluations without a finite value dropped."""
    values, epochs = run.get(key), run.get("epoch")
    if not values or not epochs or len(values) != len(epochs):
        raise _cannot(f"{label} has no {key} history (or it does not match its epochs)")
    v = np.array([np.nan if x is None else x for x in values], float)
    e = np.array([np.nan if x is None else x for x in epochs], float)
    keep = np.isfinite(v) & np.isfinite(e)
    if keep.sum() < least:
        raise _cannot(f"{label} has fewer than {least} finite {key} values")
    return e[keep], v[keep]


def _final(run: dict, key: str, label: str) -> float:
    values = run.get(key)
    if not values:
        raise _cannot(f"{label} has no {key} history")
    return _number(values[-1], f"{label}'s final {key}")


def _early_best(run: dict, label: str) -> float:
    """Lowest validation loss up to EARLY_EPOCH (the loss at init is the same for every lr)."""
    epochs, loss = _curve(run, "validation_loss", label)
    if not (epochs <= EARLY_EPOCH).any():
        raise _cannot(f"{label} has no validation loss by epoch {EARLY_EPOCH}")
    return float(loss[epochs <= EARLY_EPOCH].min())


def excess_variation(values) -> float:
    """Total variation beyond the net change: 0 for a monotone curve, grows with every peak."""
    v = np.asarray(values, float)
    return float(np.abs(np.diff(v)).sum() - abs(v[-1] - v[0])) if len(v) > 1 else 0.0


def _wiggles(runs: dict) -> dict:
    """label -> excess variation of the validation loss over the evaluations every run has."""
    curves = {label: _curve(run, "validation_loss", label, least=3)[1] for label, run in runs.items()}
    n = min(len(c) for c in curves.values())
    return {label: excess_variation(c[:n]) for label, c in curves.items()}


def _sweep(facts: dict, variant: str) -> dict:
    return {float(lr): run for lr, run in _get(facts, "lr_sweep", variant).items()}


def _label(variant: str, lr: float) -> str:
    return f"{variant} lr {lr:g}"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


# --- 1.1 Optimisation of an MLP --------------------------------------------------------------------------
@_claim("lr_largest_stalls", "1.1.1",
        f"The largest learning rate stalls: its best validation loss is less than {STALL_DROP:.0%} under its "
        "first evaluation's, and another learning rate reaches a lower loss (stable 'in a bad way').")
def lr_largest_stalls(facts: dict, numbers: dict) -> tuple:
    """Diverged: does not hold (the course's curve was flat and finite). Other lrs all diverged: cannot be judged."""
    runs = _sweep(facts, "plain")
    lr = max(runs)
    numbers["lr"] = lr
    _, loss = _curve(_live(runs[lr], _label("plain", lr), True), "validation_loss", _label("plain", lr), least=2)
    if loss[0] <= 0:
        raise _cannot(f"plain lr {lr:g}'s first validation loss is {loss[0]:g}: no relative drop")
    others = {r: run for r, run in runs.items() if r != lr and not run.get("diverged")}
    if not others:
        raise _cannot("no other learning rate trained without diverging: 'in a bad way' cannot be compared")
    other_best = min(_curve(run, "validation_loss", _label("plain", r))[1].min() for r, run in others.items())
    drop = (loss[0] - loss.min()) / loss[0]
    numbers.update(first_loss=loss[0], best_loss=loss.min(), drop=drop, other_best_loss=other_best)
    return (drop < STALL_DROP and loss.min() > other_best,
            f"lr {lr:g}: validation loss {_fmt(loss[0])} -> best {_fmt(loss.min())} ({drop:.1%} lower); "
            f"best of the other lrs {_fmt(other_best)}")


@_claim("lr_smallest_slow", "1.1.1",
        f"The smallest learning rate descends but slowly: its validation loss falls by {STALL_DROP:.0%} or more, "
        f"is still reaching new lows in the last {STILL_FALLING_TAIL:.0%} of the run, and ends above the best "
        "loss of every middle learning rate.")
def lr_smallest_slow(facts: dict, numbers: dict) -> tuple:
    """Diverged: does not hold (it does not descend). A middle lr diverged or absent: cannot be judged."""
    runs = _sweep(facts, "plain")
    lr, middles = min(runs), sorted(r for r in runs if min(runs) < r < max(runs))
    if not middles:
        raise _cannot(f"no learning rate between {min(runs):g} and {max(runs):g} to compare with")
    label = _label("plain", lr)
    _, loss = _curve(_live(runs[lr], label, True), "validation_loss", label, least=4)
    if loss[0] <= 0:
        raise _cannot(f"{label}'s first validation loss is {loss[0]:g}: no relative drop")
    tail = math.ceil(STILL_FALLING_TAIL * len(loss))
    middle_best = max(_curve(_live(runs[r], _label("plain", r), False), "validation_loss",
                             _label("plain", r))[1].min() for r in middles)
    drop = (loss[0] - loss[-1]) / loss[0]
    falling = bool(loss[-tail:].min() < loss[:-tail].min())
    numbers.update(lr=lr, first_loss=loss[0], final_loss=loss[-1], drop=drop, still_falling=falling,
                   middle_best_loss=middle_best)
    return (drop >= STALL_DROP and falling and loss[-1] > middle_best,
            f"lr {lr:g}: validation loss {_fmt(loss[0])} -> {_fmt(loss[-1])} ({drop:.1%} lower), "
            f"{'still' if falling else 'no longer'} falling in its last {tail} evaluations; "
            f"the middle lrs reach {_fmt(middle_best)} or lower")


@_claim("lr_middle_best", "1.1.1",
        f"The middle learning rates (the course's 0.01 and 0.001) descend the most early on: each one's lowest "
        f"validation loss by epoch {EARLY_EPOCH} is below both the largest and the smallest learning rate's.")
def lr_middle_best(facts: dict, numbers: dict) -> tuple:
    """A middle lr diverged: does not hold (it did not descend). An extreme lr diverged: cannot be judged."""
    runs = _sweep(facts, "plain")
    middles = sorted(r for r in runs if min(runs) < r < max(runs))
    if not middles:
        raise _cannot("fewer than three learning rates: no middle ones")
    middle = {r: _early_best(_live(runs[r], _label("plain", r), True), _label("plain", r)) for r in middles}
    extreme = {r: _early_best(_live(runs[r], _label("plain", r), False), _label("plain", r))
               for r in (min(runs), max(runs))}
    numbers.update({f"early_best_loss_lr{r:g}": v for r, v in sorted({**middle, **extreme}.items())})
    return (max(middle.values()) < min(extreme.values()),
            f"lowest validation loss by epoch {EARLY_EPOCH}: "
            + ", ".join(f"lr {r:g}: {_fmt(v)}" for r, v in sorted({**middle, **extreme}.items(), reverse=True)))


@_claim("long_early_drop", "1.1.2",
        f"In the 100-epoch run the validation loss drops steeply up to about epoch {STEEP_EPOCH} (at least "
        f"{EARLY_DROP_SHARE:.0%} of the first-to-best drop by then), then changes little (median later loss within "
        f"{LATE_CHANGE_SHARE:.0%} of that drop of the epoch-{STEEP_EPOCH} level).")
def long_early_drop(facts: dict, numbers: dict) -> tuple:
    """Diverged: does not hold (no calm plateau). Too short to reach past epoch 20: cannot be judged."""
    run = _live(_get(facts, "long", "plain"), "the long plain run", True)
    epochs, loss = _curve(run, "validation_loss", "the long plain run", least=2)
    early, late = loss[epochs <= STEEP_EPOCH], loss[epochs > STEEP_EPOCH]
    if not len(early) or not len(late):
        raise _cannot(f"the long plain run has no evaluations on both sides of epoch {STEEP_EPOCH}")
    drop = loss[0] - loss.min()
    if drop <= 0:
        raise _fails("the long plain run never goes below its first validation loss")
    share, change = (loss[0] - early.min()) / drop, abs(np.median(late) - early.min()) / drop
    numbers.update(first_loss=loss[0], best_loss=loss.min(), early_best_loss=early.min(),
                   late_median_loss=np.median(late), early_share=share, late_change=change)
    return (share >= EARLY_DROP_SHARE and change <= LATE_CHANGE_SHARE,
            f"{share:.0%} of the drop {_fmt(loss[0])} -> {_fmt(loss.min())} done by epoch {STEEP_EPOCH}; "
            f"later median {_fmt(np.median(late))}, {change:.0%} of the drop from the epoch-{STEEP_EPOCH} level")


def _bn_steadier(plain: dict, batchnorm: dict, what: str, numbers: dict) -> tuple:
    """Plain diverged: cannot be judged; BatchNorm diverged: does not hold."""
    _live(plain, f"plain {what}", False)
    _live(batchnorm, f"BatchNorm {what}", True)
    wiggle = _wiggles({"plain": plain, "batchnorm": batchnorm})
    numbers.update(plain_excess_variation=wiggle["plain"], batchnorm_excess_variation=wiggle["batchnorm"])
    return (wiggle["batchnorm"] < STEADIER_RATIO * wiggle["plain"],
            f"excess variation of the validation loss, {what}: plain {_fmt(wiggle['plain'])}, "
            f"BatchNorm {_fmt(wiggle['batchnorm'])}")


@_claim("bn_steadier_lr001", "1.1.3",
        f"BatchNorm steadies the validation-loss curve at lr {BN_STEADY_LR:g}: its excess variation (total "
        f"variation beyond the net change) is at most {STEADIER_RATIO:g}x the plain network's.")
def bn_steadier_lr001(facts: dict, numbers: dict) -> tuple:
    """lr 0.01 absent from either sweep: cannot be judged (the course names it). Diverged: see _bn_steadier."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    if BN_STEADY_LR not in plain or BN_STEADY_LR not in batchnorm:
        raise _cannot(f"lr {BN_STEADY_LR:g} is not in both sweeps")
    return _bn_steadier(plain[BN_STEADY_LR], batchnorm[BN_STEADY_LR], f"lr {BN_STEADY_LR:g}", numbers)


@_claim("bn_steadier_long", "1.1.3",
        f"BatchNorm steadies the 100-epoch run: excess variation of its validation loss at most "
        f"{STEADIER_RATIO:g}x the plain network's ('the peaks being less dramatic').")
def bn_steadier_long(facts: dict, numbers: dict) -> tuple:
    """Plain long run diverged: cannot be judged; BatchNorm long run diverged: does not hold."""
    return _bn_steadier(_get(facts, "long", "plain"), _get(facts, "long", "batchnorm"), "long run", numbers)


@_claim("bn_smallest_lr_faster", "1.1.3",
        f"With BatchNorm the smallest learning rate learns faster: its lowest validation loss by epoch "
        f"{EARLY_EPOCH} is below the plain network's at the same learning rate.")
def bn_smallest_lr_faster(facts: dict, numbers: dict) -> tuple:
    """BatchNorm run diverged: does not hold; plain run diverged: cannot be judged."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    common = set(plain) & set(batchnorm)
    if not common:
        raise _cannot("no learning rate is in both sweeps")
    lr = min(common)
    bn = _early_best(_live(batchnorm[lr], _label("BatchNorm", lr), True), _label("BatchNorm", lr))
    base = _early_best(_live(plain[lr], _label("plain", lr), False), _label("plain", lr))
    numbers.update(lr=lr, plain_early_best_loss=base, batchnorm_early_best_loss=bn)
    return bn < base, (f"lr {lr:g}, lowest validation loss by epoch {EARLY_EPOCH}: plain {_fmt(base)}, "
                       f"BatchNorm {_fmt(bn)}")


@_claim("bn_lr1_unstable", "1.1.3",
        "With BatchNorm the largest learning rate is unstable: the other BatchNorm learning rates and the plain "
        f"network at that rate each have at most {STEADIER_RATIO:g}x its excess variation of the validation loss.")
def bn_lr1_unstable(facts: dict, numbers: dict) -> tuple:
    """Any of them diverged: cannot be judged (a diverged curve has no measurable wiggle; the course's was finite)."""
    plain, batchnorm = _sweep(facts, "plain"), _sweep(facts, "batchnorm")
    if not set(plain) & set(batchnorm) or len(batchnorm) < 2:
        raise _cannot("need the largest lr in both sweeps and another BatchNorm lr")
    lr = max(set(plain) & set(batchnorm))
    subject, base = _label("BatchNorm", lr), _label("plain", lr)
    runs = {**{_label("BatchNorm", r): run for r, run in batchnorm.items()}, base: plain[lr]}
    for label, run in runs.items():
        _live(run, label, False, "no finite curve whose wiggles could be measured")
    wiggle = _wiggles(runs)
    others = max(v for label, v in wiggle.items() if label not in (subject, base))
    numbers.update(lr=lr, batchnorm_excess_variation=wiggle[subject], plain_excess_variation=wiggle[base],
                   other_batchnorm_max_excess_variation=others)
    return (max(others, wiggle[base]) < STEADIER_RATIO * wiggle[subject],
            f"excess variation: {subject} {_fmt(wiggle[subject])}, {base} {_fmt(wiggle[base])}, "
            f"other BatchNorm lrs at most {_fmt(others)}")


@_claim("bn_lr1_worst", "1.1.3",
        "With BatchNorm the largest learning rate is still the worst: its final validation loss is higher and its "
        "final validation accuracy lower than every other BatchNorm learning rate's.")
def bn_lr1_worst(facts: dict, numbers: dict) -> tuple:
    """Any BatchNorm run diverged or lacking a final value: cannot be judged (worse than a diverged run is moot)."""
    runs = _sweep(facts, "batchnorm")
    if len(runs) < 2:
        raise _cannot("fewer than two BatchNorm learning rates")
    final = {}
    for lr, run in runs.items():
        label = _label("BatchNorm", lr)
        _live(run, label, False, "it has no final value to rank")
        final[lr] = (_final(run, "validation_loss", label), _final(run, "validation_acc", label))
    lr = max(runs)
    others = [v for r, v in final.items() if r != lr]
    loss, acc = final[lr]
    numbers.update(lr=lr, final_loss=loss, final_acc=acc, others_max_loss=max(o[0] for o in others),
                   others_min_acc=min(o[1] for o in others))
    return (all(loss > o[0] and acc < o[1] for o in others),
            f"final validation loss/accuracy: lr {lr:g} {_fmt(loss)}/{_fmt(acc)}; others' loss at most "
            f"{_fmt(numbers['others_max_loss'])}, accuracy at least {_fmt(numbers['others_min_acc'])}")


# --- 1.1.4 Batch size ------------------------------------------------------------------------------------
def _pairs(facts: dict) -> dict:
    return _get(facts, "batch")


def _pair(facts: dict, batch: int, one_epoch: bool) -> tuple:
    """(name, run) of the pair with this batch size: the one-epoch run, else the one with the most epochs."""
    found = {n: r for n, r in _pairs(facts).items() if r.get("batch_size") == batch
             and (r.get("epochs") == 1) == one_epoch}
    if not found:
        raise _cannot(f"no {'one' if one_epoch else 'multi'}-epoch run with batch size {batch}")
    name = max(found, key=lambda n: (found[n].get("epochs") or 0, n))
    return name, found[name]


@_claim("batch1_beats_16", "1.1.4",
        f"After one epoch batch size {ONE_EPOCH_BATCHES[0]} beats batch size {ONE_EPOCH_BATCHES[1]}: "
        "higher final test accuracy.")
def batch1_beats_16(facts: dict, numbers: dict) -> tuple:
    """Batch 1 diverged: does not hold; batch 16 diverged: cannot be judged."""
    small, large = (_pair(facts, b, True) for b in ONE_EPOCH_BATCHES)
    acc_small = _final(_live(small[1], small[0], True), "test_acc", small[0])
    acc_large = _final(_live(large[1], large[0], False), "test_acc", large[0])
    numbers.update(small_test_acc=acc_small, large_test_acc=acc_large)
    return acc_small > acc_large, (f"test accuracy after one epoch: {small[0]} {_fmt(acc_small)}, "
                                   f"{large[0]} {_fmt(acc_large)}")


@_claim("larger_batches_faster", "1.1.4",
        "Larger batches take less time per epoch: seconds per epoch fall strictly as the batch size grows.",
        timing=True)
def larger_batches_faster(facts: dict, numbers: dict) -> tuple:
    """Missing seconds or a diverged pair (it may have stopped early, timing other work): cannot be judged.
    numbers holds no seconds: they go to the evidence only."""
    seconds = {}
    for name, run in _pairs(facts).items():
        _live(run, name, False, "it may have stopped early, so its seconds time other work")
        seconds.setdefault(int(run["batch_size"]), []).append(_number(run.get("seconds_per_epoch"),
                                                                      f"{name}'s seconds per epoch"))
    if len(seconds) < 2:
        raise _cannot("fewer than two batch sizes timed")
    mean = [float(np.mean(seconds[b])) for b in sorted(seconds)]
    numbers.update(batch_sizes=", ".join(map(str, sorted(seconds))), pairs=len(_pairs(facts)))
    return (all(a > b for a, b in zip(mean, mean[1:])),
            "seconds per epoch: " + ", ".join(f"batch {b}: {s:.3g}" for b, s in zip(sorted(seconds), mean)))


def _initial(facts: dict, key: str, falls: bool, numbers: dict) -> tuple:
    """First evaluation of every pair, ordered by batch size; any pair diverged or missing: cannot be judged."""
    first = {}
    for name, run in sorted(_pairs(facts).items()):
        _live(run, name, False, "its first evaluation is not a sound point of the ordering")
        values, epochs = run.get(key) or [None], run.get("epoch") or [None]
        first[name] = (int(run["batch_size"]), _number(epochs[0], f"{name}'s first epoch"),
                       _number(values[0], f"{name}'s first {key}"))
    epochs = [e for _, e, _ in first.values()]
    if max(epochs) > min(epochs) * (1 + FIRST_EVAL_SPREAD):
        raise _cannot(f"the pairs' first evaluations lie at epochs {min(epochs):g} to {max(epochs):g}, more than "
                      f"{FIRST_EVAL_SPREAD:.0%} apart: not comparable")
    if len({b for b, _, _ in first.values()}) < 2:
        raise _cannot("fewer than two batch sizes")
    items = list(first.values())
    wrong = sum(1 for a in items for b in items if a[0] < b[0] and (a[2] <= b[2] if falls else a[2] >= b[2]))
    numbers.update({f"initial_{key}_{name}": v for name, (_, _, v) in first.items()}, out_of_order=wrong)
    return (wrong <= ORDER_EXCEPTIONS,
            f"first {key} at epochs {min(epochs):.3g}-{max(epochs):.3g}: " + ", ".join(
                f"batch {b}: {_fmt(v)}" for b, _, v in sorted(items)) + f"; {wrong} pair(s) out of order")


@_claim("initial_acc_falls", "1.1.4",
        "The initial test accuracy (first evaluation) falls as the batch size grows, regardless of epochs: "
        f"at most {ORDER_EXCEPTIONS} pairs out of order.")
def initial_acc_falls(facts: dict, numbers: dict) -> tuple:
    """Any pair diverged, missing its first value, or first evaluated at another epoch: cannot be judged."""
    return _initial(facts, "test_acc", True, numbers)


@_claim("initial_loss_rises", "1.1.4",
        "The initial test loss (first evaluation) rises as the batch size grows, regardless of epochs: "
        f"at most {ORDER_EXCEPTIONS} pairs out of order.")
def initial_loss_rises(facts: dict, numbers: dict) -> tuple:
    """Any pair diverged, missing its first value, or first evaluated at another epoch: cannot be judged."""
    return _initial(facts, "test_loss", False, numbers)


@_claim("b128_beats_b1024", "1.1.4",
        f"Over the same number of epochs batch size {LONG_BATCHES[0]} ends above batch size {LONG_BATCHES[1]} "
        "in final test accuracy.")
def b128_beats_b1024(facts: dict, numbers: dict) -> tuple:
    """Batch 128 diverged: does not hold; batch 1024 diverged, or trained for other epochs: cannot be judged."""
    small, large = (_pair(facts, b, False) for b in LONG_BATCHES)
    if small[1].get("epochs") != large[1].get("epochs"):
        raise _cannot(f"{small[0]} and {large[0]} train for different numbers of epochs")
    acc_small = _final(_live(small[1], small[0], True), "test_acc", small[0])
    acc_large = _final(_live(large[1], large[0], False), "test_acc", large[0])
    numbers.update(epochs=small[1].get("epochs"), small_test_acc=acc_small, large_test_acc=acc_large)
    return acc_small > acc_large, f"final test accuracy: {small[0]} {_fmt(acc_small)}, {large[0]} {_fmt(acc_large)}"


# --- 1.2 Evaluating MLPs ---------------------------------------------------------------------------------
_SPLITS = ("train", "validation", "test")


def _accs(cell: dict, label: str) -> dict:
    """split -> final accuracy of a grid cell; diverged or missing: cannot be judged (no accuracies)."""
    if cell.get("diverged"):
        raise _cannot(f"{label} diverged: it has no final accuracies")
    return {s: _number(cell.get(f"final_{s}_acc"), f"{label}'s final {s} accuracy") for s in _SPLITS}


def _named_cell(facts: dict, which: str) -> tuple:
    name = _get(facts, "grid", which)
    return name, _get(facts, "grid", "cells", name)


def _cell(facts: dict, depth: int, width: int) -> tuple:
    for name, cell in sorted(_get(facts, "grid", "cells").items()):
        if cell.get("depth") == depth and cell.get("width") == width:
            return name, cell
    raise _cannot(f"no grid cell with depth {depth} and width {width}")


def _slice(facts: dict, fixed: str, value: int) -> dict:
    """vary -> (name, cell) of the grid cells with depth (or width) fixed at value."""
    vary = "width" if fixed == "depth" else "depth"
    cells = {c.get(vary): (n, c) for n, c in sorted(_get(facts, "grid", "cells").items()) if c.get(fixed) == value}
    if len(cells) < 2:
        raise _cannot(f"fewer than two grid cells at {fixed} {value}")
    return cells


@_claim("best_generalises", "1.2.1",
        f"The best model (by validation accuracy) generalises: its train accuracy is at most {ACC_GAP * 100:g} "
        "points above its validation and test accuracy.")
def best_generalises(facts: dict, numbers: dict) -> tuple:
    """The best cell missing or diverged: cannot be judged (a diverged cell should never be chosen best)."""
    name, cell = _named_cell(facts, "best")
    acc = _accs(cell, name)
    gap = acc["train"] - min(acc["validation"], acc["test"])
    numbers.update(cell=name, **{f"{s}_acc": v for s, v in acc.items()}, gap=gap)
    return gap <= ACC_GAP, (f"{name}: train {_fmt(acc['train'])}, validation {_fmt(acc['validation'])}, "
                            f"test {_fmt(acc['test'])}")


@_claim("worst_underfits", "1.2.2",
        f"The worst model underfits: it does not overfit (train at most {ACC_GAP * 100:g} points above validation "
        f"and test), and its validation and train accuracies are each {UNDERFIT_MARGIN * 100:g}+ points below the "
        "best model's.")
def worst_underfits(facts: dict, numbers: dict) -> tuple:
    """Worst or best cell missing, diverged, or the same cell: cannot be judged (a diverged net fits nothing)."""
    (worst_name, worst), (best_name, best) = _named_cell(facts, "worst"), _named_cell(facts, "best")
    if worst_name == best_name:
        raise _cannot(f"the best and the worst cell are the same ({worst_name})")
    low, high = _accs(worst, worst_name), _accs(best, best_name)
    gap = low["train"] - min(low["validation"], low["test"])
    numbers.update(cell=worst_name, **{f"{s}_acc": v for s, v in low.items()}, gap=gap,
                   best_validation_acc=high["validation"], best_train_acc=high["train"])
    return (gap <= ACC_GAP and high["validation"] - low["validation"] >= UNDERFIT_MARGIN
            and high["train"] - low["train"] >= UNDERFIT_MARGIN,
            f"{worst_name}: train {_fmt(low['train'])}, validation {_fmt(low['validation'])}, test "
            f"{_fmt(low['test'])}; best {best_name}: train {_fmt(high['train'])}, "
            f"validation {_fmt(high['validation'])}")


@_claim("shallow_below_deep", "1.2.3",
        f"Depths {SHALLOW_DEPTHS[0]} and {SHALLOW_DEPTHS[1]} are below depths {DEEP_DEPTHS[0]} and "
        f"{DEEP_DEPTHS[1]}: the max of their validation accuracies is below the min of the deep ones' (at the depth "
        "slice's width).")
def shallow_below_deep(facts: dict, numbers: dict) -> tuple:
    """Any of the four cells missing or diverged: cannot be judged."""
    width = _get(facts, "grid", "depth_slice_width")
    acc = {d: _accs(_cell(facts, d, width)[1], f"depth {d} width {width}")["validation"]
           for d in SHALLOW_DEPTHS + DEEP_DEPTHS}
    numbers.update(width=width, **{f"validation_acc_d{d}": v for d, v in acc.items()})
    return (max(acc[d] for d in SHALLOW_DEPTHS) < min(acc[d] for d in DEEP_DEPTHS),
            f"validation accuracy at width {width}: " + ", ".join(f"depth {d}: {_fmt(v)}" for d, v in acc.items()))


@_claim("depth10_no_gain", "1.2.3",
        f"Depth {DEEP_DEPTHS[1]} does not beat depth {DEEP_DEPTHS[0]} by more than {NO_GAIN_MARGIN * 100:g} "
        "point of validation accuracy ('slight decay').")
def depth10_no_gain(facts: dict, numbers: dict) -> tuple:
    """Either cell missing or diverged: cannot be judged (not beating a diverged net means nothing)."""
    width = _get(facts, "grid", "depth_slice_width")
    shallow, deep = (_accs(_cell(facts, d, width)[1], f"depth {d} width {width}")["validation"] for d in DEEP_DEPTHS)
    numbers.update(width=width, validation_acc_shallower=shallow, validation_acc_deeper=deep, gain=deep - shallow)
    return (deep - shallow <= NO_GAIN_MARGIN,
            f"validation accuracy at width {width}: depth {DEEP_DEPTHS[0]} {_fmt(shallow)}, "
            f"depth {DEEP_DEPTHS[1]} {_fmt(deep)}")


def _width_slice(facts: dict, width: int) -> tuple:
    """(depth, cells of the width slice) with the claim's width trained there; absent: cannot be judged, diverged:
    does not hold."""
    depth = _get(facts, "grid", "width_slice_depth")
    cells = _slice(facts, "depth", depth)
    if width not in cells:
        raise _cannot(f"no grid cell with width {width} at depth {depth}")
    _live(cells[width][1], f"width {width}", True)
    return depth, cells


@_claim("width32_sweet_spot", "1.2.4",
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
            + ", ".join(f"width {w}: {_fmt(a['validation'])}/{_fmt(a['test'])}" for w, a in acc.items()))


@_claim("width64_overfits", "1.2.4",
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
            + ", ".join(f"width {w}: {_fmt(g)}" for w, g in gap.items()))


# --- 1.2.5 Gradient magnitudes ---------------------------------------------------------------------------
def _probe(facts: dict, variant: str) -> tuple:
    """(layers, grads[seed, epoch, layer], dead[seed, epoch, layer]) with None as NaN; ragged: cannot be judged."""
    layers = [int(x) for x in _get(facts, "probe", variant, "layers")]
    arrays = []
    for key in ("grad_sq_norm", "dead_fraction"):
        raw = _get(facts, "probe", variant, key)
        try:
            array = np.array([[[np.nan if x is None else x for x in e] for e in s] for s in raw], float)
        except ValueError:
            raise _cannot(f"probe.{variant}.{key} is ragged") from None
        if array.ndim != 3 or array.shape[2] != len(layers) or array.shape[1] == 0:
            raise _cannot(f"probe.{variant}.{key} is not [seed][epoch][layer] over {len(layers)} layers")
        arrays.append(array)
    if arrays[0].shape != arrays[1].shape:
        raise _cannot(f"probe.{variant} gradients and dead fractions differ in shape")
    return (layers, *arrays)


def _dead(grads: np.ndarray, dead: np.ndarray, last: np.ndarray, layers: list) -> str:
    """Why one seed's plain net is dead (no signal), or '' if it is not."""
    if (grads == 0).all():
        return "every probed gradient is exactly 0"
    if (grads[:, last] == 0).all():
        return "its last layers' gradients are exactly 0"
    full = [layers[i] for i in np.flatnonzero(dead[-1] >= 1)]
    return f"layer {full[0]} is entirely dead (dead fraction 1) at the end" if full else ""


def _seed_verdict(states: list, good: str, what: str, numbers: dict) -> tuple:
    """holds when strictly most seeds are `good`; every seed dead: does not hold; unknown seeds that could tip it:
    cannot be judged. states: (state, reason) per seed."""
    n = len(states)
    count = {s: sum(1 for st, _ in states if st == s) for s in (good, "dead", "unknown")}
    numbers.update(seeds=n, **{f"{s}_seeds": c for s, c in count.items()})
    reasons = sorted({r for st, r in states if st != good})
    detail = f"{what} in {count[good]} of {n} seeds" + (f"; others: {'; '.join(reasons)}" if reasons else "")
    if count["dead"] == n:
        raise _fails(f"the network is dead: {reasons[0]} in {n} of {n} seeds" if len(reasons) == 1
                     else f"the network is dead in {n} of {n} seeds: {'; '.join(reasons)}")
    if count[good] <= MOST_SEEDS * n < count[good] + count["unknown"]:
        raise _cannot(f"{detail} (seeds with missing values could tip it)")
    return count[good] > MOST_SEEDS * n, detail


@_claim("plain_vanishing", "1.2.5",
        f"The 100-layer plain network's gradient vanishes: in most seeds every probed layer before the last "
        f"{LAST_LAYERS_SPAN} has a mean squared gradient norm under {GRADIENT_RATIO:g}x that of each of the last "
        "layers, which stay non-zero in every epoch.")
def plain_vanishing(facts: dict, numbers: dict) -> tuple:
    """Dead seeds (all gradients 0, last layers 0, or a layer with dead fraction 1) are not vanishing; all seeds dead:
    does not hold ('the network is dead': the course saw non-zero layers 95 and 99). Early layers exactly 0 under live
    last layers count as vanished (a squared norm can underflow). Missing probe: cannot be judged."""
    depth = int(_get(facts, "probe", "depth"))
    layers, grads, dead = _probe(facts, "plain")
    last = np.array([layer >= depth - LAST_LAYERS_SPAN for layer in layers])
    if last.all() or not last.any():
        raise _cannot(f"the probed layers {layers} do not include both early and last layers")
    states, ratios = [], []
    for g, d in zip(grads, dead):
        if not np.isfinite(g).all() or not np.isfinite(d).all():
            states.append(("unknown", "missing values"))
        elif reason := _dead(g, d, last, layers):
            states.append(("dead", reason))
        elif (g[:, last] <= 0).any():
            states.append(("other", "a last layer is exactly 0 in some epoch"))
        else:
            mean = g.mean(axis=0)
            ratios.append(mean[~last].max() / mean[last].min())
            states.append(("vanishing", "") if ratios[-1] < GRADIENT_RATIO
                          else ("other", f"early/last ratio {ratios[-1]:.2g}"))
    numbers["median_early_to_last_ratio"] = float(np.median(ratios)) if ratios else None
    what = f"vanishing (median early/last ratio {np.median(ratios):.2g})" if ratios else "vanishing"
    return _seed_verdict(states, "vanishing", what, numbers)


@_claim("residual_alive", "1.2.5",
        "The residual network keeps every probed layer alive: in most seeds every layer's squared gradient norm is "
        f"non-zero in every epoch, its mean at least {GRADIENT_RATIO:g}x that of the probed layer nearest the output, "
        "and no layer entirely dead at the end.")
def residual_alive(facts: dict, numbers: dict) -> tuple:
    """A layer exactly 0 in any epoch, or wholly dead at the end, is not alive; all seeds all-zero: does not hold
    ('the network is dead'). The reference is the layer nearest the output, where backpropagation starts: layer 0's
    weight gradient is scaled by the raw, unnormalised longitude/latitude inputs (up to 70 in size) and dwarfs
    every other layer in both variants, so it says nothing about fading. Missing: cannot be judged."""
    layers, grads, dead = _probe(facts, "residual")
    states, ratios = [], []
    for g, d in zip(grads, dead):
        if not np.isfinite(g).all() or not np.isfinite(d).all():
            states.append(("unknown", "missing values"))
        elif (g == 0).all():
            states.append(("dead", "every probed gradient is exactly 0"))
        elif (g <= 0).any():
            epoch, layer = np.argwhere(g <= 0)[0]
            states.append(("other", f"layer {layers[layer]} is exactly 0 from epoch {epoch + 1}"))
        elif (d[-1] >= 1).any():
            states.append(("other", f"layer {layers[np.argwhere(d[-1] >= 1)[0][0]]} is entirely dead at the end"))
        else:
            mean = g.mean(axis=0)
            ratios.append(mean.min() / mean[int(np.argmax(layers))])
            states.append(("alive", "") if ratios[-1] >= GRADIENT_RATIO
                          else ("other", f"smallest/last layer ratio {ratios[-1]:.2g}"))
    numbers["median_smallest_to_last_ratio"] = float(np.median(ratios)) if ratios else None
    what = "every layer alive" + (f" (median smallest/last layer ratio {np.median(ratios):.2g})" if ratios else "")
    return _seed_verdict(states, "alive", what, numbers)


# --- 2.1 CNN baselines -----------------------------------------------------------------------------------
def _baseline(facts: dict, name: str) -> dict:
    return {float(lr): cell for lr, cell in _get(facts, "cnn", "cells", name).items()}


def _trained(cell: dict) -> bool:
    return not cell.get("diverged") and all(
        cell.get(k) is not None and math.isfinite(cell[k]) for k in ("validation_acc", "test_acc"))


def _best(facts: dict, name: str) -> tuple:
    """(lr, cell) chosen by validation accuracy, ties by test accuracy then the larger lr; diverged cells skipped."""
    cells = {lr: c for lr, c in _baseline(facts, name).items() if _trained(c)}
    if not cells:
        raise _cannot(f"no {name} cell trained (all diverged or missing accuracies)")
    lr = max(cells, key=lambda r: (cells[r]["validation_acc"], cells[r]["test_acc"], r))
    return lr, cells[lr]


def _both_sides(facts: dict, name: str) -> dict:
    """The trained cells of a baseline, when some are at most LOW_LR and some at least HIGH_LR."""
    cells = {lr: c for lr, c in _baseline(facts, name).items() if _trained(c)}
    if not any(lr <= LOW_LR for lr in cells) or not any(lr >= HIGH_LR for lr in cells):
        raise _cannot(f"{name} lacks a trained cell at a low (<= {LOW_LR:g}) or a high (>= {HIGH_LR:g}) lr")
    return cells


@_claim("finetune_best_low_lr", "2.1",
        f"Fine-tuning is best at a low learning rate: its best cell by validation accuracy has lr <= {LOW_LR:g}.")
def finetune_best_low_lr(facts: dict, numbers: dict) -> tuple:
    """Diverged cells cannot be chosen; no trained cell at a low and at a high lr: cannot be judged."""
    _both_sides(facts, "finetune")
    lr, cell = _best(facts, "finetune")
    numbers.update(lr=lr, validation_acc=cell["validation_acc"], test_acc=cell["test_acc"])
    return lr <= LOW_LR, (f"fine-tune best at lr {lr:g} (validation {_fmt(cell['validation_acc'])}, "
                          f"test {_fmt(cell['test_acc'])})")


@_claim("probe_best_high_lr", "2.1",
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
            f"probe best at lr {lr:g} (validation {_fmt(cell['validation_acc'])}); best low-lr validation {_fmt(low)}")


@_claim("probe_beats_finetune_high_lr", "2.1",
        f"The linear probe beats fine-tuning at every high learning rate (>= {HIGH_LR:g}) both ran: higher test "
        "accuracy.")
def probe_beats_finetune_high_lr(facts: dict, numbers: dict) -> tuple:
    """A probe cell diverged: does not hold; a fine-tune cell diverged: cannot be judged; no shared high lr: cannot."""
    probe, tune = _baseline(facts, "probe"), _baseline(facts, "finetune")
    lrs = sorted((lr for lr in set(probe) & set(tune) if lr >= HIGH_LR), reverse=True)
    if not lrs:
        raise _cannot(f"no lr >= {HIGH_LR:g} in both the probe and the fine-tune cells")
    acc = {}
    for lr in lrs:
        if probe[lr].get("diverged"):
            raise _fails(f"the probe at lr {lr:g} diverged")
        acc[lr] = [_number(c.get("test_acc"), f"{n} lr {lr:g} test accuracy")
                   for n, c in (("probe", probe[lr]), ("finetune", _live(tune[lr], f"finetune lr {lr:g}", False)))]
    for lr, (p, t) in acc.items():
        numbers.update({f"probe_test_acc_lr{lr:g}": p, f"finetune_test_acc_lr{lr:g}": t})
    return (all(p > t for p, t in acc.values()),
            "test accuracy probe/fine-tune: " + ", ".join(f"lr {lr:g}: {_fmt(p)}/{_fmt(t)}"
                                                          for lr, (p, t) in acc.items()))


@_claim("probe_beats_scratch", "2.1",
        "The linear probe beats training from scratch: the best probe (by validation accuracy) has a higher test "
        "accuracy than the best scratch model.")
def probe_beats_scratch(facts: dict, numbers: dict) -> tuple:
    """Either baseline without a trained cell: cannot be judged."""
    (p_lr, probe), (s_lr, scratch) = _best(facts, "probe"), _best(facts, "scratch")
    numbers.update(probe_lr=p_lr, probe_test_acc=probe["test_acc"], scratch_lr=s_lr,
                   scratch_test_acc=scratch["test_acc"])
    return (probe["test_acc"] > scratch["test_acc"],
            f"test accuracy: probe (lr {p_lr:g}) {_fmt(probe['test_acc'])}, "
            f"scratch (lr {s_lr:g}) {_fmt(scratch['test_acc'])}")


@_claim("scratch_near_chance", "2.1",
        f"Training from scratch stays near chance: every scratch cell's test accuracy is within {NEAR_CHANCE:g} of "
        f"{CHANCE:g}.")
def scratch_near_chance(facts: dict, numbers: dict) -> tuple:
    """A claim on every cell: any scratch cell diverged or without accuracy: cannot be judged."""
    acc = {}
    for lr, c in sorted(_baseline(facts, "scratch").items(), reverse=True):
        _live(c, f"scratch lr {lr:g}", False, "it has no accuracy")
        acc[lr] = _number(c.get("test_acc"), f"scratch lr {lr:g} test accuracy")
    worst = max(abs(a - CHANCE) for a in acc.values())
    numbers.update({f"test_acc_lr{lr:g}": a for lr, a in acc.items()}, largest_distance=worst)
    return worst <= NEAR_CHANCE, "scratch test accuracy: " + ", ".join(f"lr {lr:g}: {_fmt(a)}" for lr, a in acc.items())


@_claim("xgboost_vs_probe", "2.1",
        f"XGBoost on pixels is on par with or above the best linear probe: its test accuracy at most {ON_PAR:g} "
        "below the probe's (course: 0.73 vs 0.7125).")
def xgboost_vs_probe(facts: dict, numbers: dict) -> tuple:
    """XGBoost's accuracy missing, or no trained probe cell: cannot be judged."""
    boost = _number(_get(facts, "cnn", "xgboost").get("test_acc"), "XGBoost's test accuracy")
    lr, probe = _best(facts, "probe")
    numbers.update(xgboost_test_acc=boost, probe_lr=lr, probe_test_acc=probe["test_acc"])
    return (boost >= probe["test_acc"] - ON_PAR,
            f"test accuracy: XGBoost {_fmt(boost)}, best probe (lr {lr:g}) {_fmt(probe['test_acc'])}")


@_claim("finetune_best_overall", "2.1",
        "The best fine-tuned model is the best model overall: higher test accuracy than the best probe, the best "
        "scratch model and XGBoost.")
def finetune_best_overall(facts: dict, numbers: dict) -> tuple:
    """Any baseline without a trained cell, or XGBoost's accuracy missing: cannot be judged."""
    best = {n: _best(facts, n) for n in ("finetune", "probe", "scratch")}
    acc = {n: cell["test_acc"] for n, (_, cell) in best.items()}
    acc["xgboost"] = _number(_get(facts, "cnn", "xgboost").get("test_acc"), "XGBoost's test accuracy")
    numbers.update({f"{n}_test_acc": a for n, a in acc.items()}, finetune_lr=best["finetune"][0])
    return (all(acc["finetune"] > a for n, a in acc.items() if n != "finetune"),
            "best test accuracy: " + ", ".join(f"{n} {_fmt(a)}" for n, a in acc.items()))


CLAIMS = (lr_largest_stalls, lr_smallest_slow, lr_middle_best, long_early_drop,
          bn_steadier_lr001, bn_steadier_long, bn_smallest_lr_faster, bn_lr1_unstable, bn_lr1_worst,
          batch1_beats_16, larger_batches_faster, initial_acc_falls, initial_loss_rises, b128_beats_b1024,
          best_generalises, worst_underfits, shallow_below_deep, depth10_no_gain, width32_sweet_spot,
          width64_overfits, plain_vanishing, residual_alive,
          finetune_best_low_lr, probe_best_high_lr, probe_beats_finetune_high_lr, probe_beats_scratch,
          scratch_near_chance, xgboost_vs_probe, finetune_best_overall)


def check_all(facts: dict) -> list[dict]:
    """Every claim of the course report, in its order, judged on `facts` (structure: see the project README)."""
    return [claim(facts) for claim in CLAIMS]


def verdict_counts(results: list[dict]) -> dict:
    """{'holds': n, 'does not hold': n, 'cannot be judged': n} over check_all's results."""
    return {v: sum(1 for r in results if r["verdict"] == v) for v in VERDICTS}
