"""The claims of sections 1.1.1-1.1.4 (claims.optimisation, claims.batch) on made-up facts over eight seeds that vary:
each claim holds on the factory's facts, does not hold on its counter-example, and gives the verdict its docstring
promises on degenerate input (diverged, collapsed, missing); and the readings of the curves behind them (settling,
the knee, peaks against jitter)."""

import copy
import math

import numpy as np
import pytest

from nnrepro.report import claims
from nnrepro.report.claims import batch, optimisation, trends

HOLDS, FAILS, CANNOT = claims.HOLDS, claims.FAILS, claims.CANNOT
SEEDS = 8
SPLITS = ("train", "validation", "test")
MINE = {c.claim_id: c for c in claims.CLAIMS if c.__module__ in (optimisation.__name__, batch.__name__)}
COURSE = {"1.1.4": {"batch_1_one_epoch_test_acc": 0.81}}


def history(loss, acc=None, epochs=None) -> dict:
    """Every split's loss and accuracy (1 - loss / 4 unless given) at `epochs` (1, 2, ... unless given)."""
    loss = [None if x is None else float(x) for x in loss]
    acc = acc if acc is not None else [None if x is None else 1 - x / 4 for x in loss]
    return {
        "epoch": list(epochs) if epochs is not None else [float(e) for e in range(1, len(loss) + 1)],
        **{f"{s}_{k}": list(v) for s in SPLITS for k, v in (("loss", loss), ("acc", acc))},
    }


def over_seeds(make, **extra) -> dict:
    """A run whose replicate k is make(k) (a history), its own record their mean, as readback reports it."""
    replicates = [{**make(k), "diverged": False, "collapsed": False} for k in range(SEEDS)]
    mean = {
        key: [None if None in vals else float(np.mean(vals)) for vals in zip(*(r[key] for r in replicates))]
        for key in replicates[0]
        if isinstance(replicates[0][key], list)
    }
    return {**mean, "diverged": False, "collapsed": False, **extra, "replicates": replicates}


def noise(k: int, n: int, size: float) -> np.ndarray:
    return size * np.random.default_rng(1000 + k).standard_normal(n)


def spread(k: int, by: float = 0.04) -> float:
    """Seed k's factor on a rate or a size: 1 +- `by` across the seeds."""
    return 1 + by * (k - (SEEDS - 1) / 2) / ((SEEDS - 1) / 2)


def decay(k, start, level, tau, n=50, peak=0.0, every=3, jitter=0.002) -> list:
    """start -> level exponentially (time constant tau epochs, varied by seed) over n epochs, `peak` added to every
    `every`-th evaluation, seed noise of `jitter`."""
    t = np.arange(n)
    curve = level + (start - level) * np.exp(-t / (tau * spread(k)))
    curve += np.where(t % every == every - 1, peak, 0.0) + noise(k, n, jitter)
    return list(curve)


def spikes(values, at, size) -> list:
    values = list(values)
    for i in at:
        values[i] += size
    return values


def sweep(curves: dict) -> dict:
    return {lr: over_seeds(lambda k, f=f: history(f(k))) for lr, f in curves.items()}


PLAIN = {
    1.0: lambda k: list(3.0 + noise(k, 50, 0.02)),
    0.01: lambda k: decay(k, 1.2, 0.4, 4, peak=0.15),
    0.001: lambda k: decay(k, 1.3, 0.4, 8, peak=0.06, every=4),
    0.0001: lambda k: list(np.linspace(2.0, 1.3 * spread(k, 0.02), 50) + noise(k, 50, 0.002)),
}
BATCHNORM = {
    1.0: lambda k: spikes([3.0, 2.0] * 25, [], 0) + noise(k, 50, 0.05),
    0.01: lambda k: decay(k, 0.8, 0.36, 1.5),
    0.001: lambda k: decay(k, 0.9, 0.38, 2.5),
    0.0001: lambda k: decay(k, 1.5, 0.6, 10),
}


def long_plain(k, tau=8.7) -> list:
    """The long run: a knee at about epoch 20 (tau ln 10), two peaks later."""
    return spikes(decay(k, 1.6, 0.15, tau, n=100), [40 + k, 70 + k], 0.05)


def batch_history(k, first_acc, final_acc, first_loss, tau, epochs, jitter=0.0005, peaks=()) -> dict:
    """Ten evaluations over the first epoch, then one per epoch; the loss falls first_loss -> 0.5 (time constant
    tau epochs), the accuracy rises alike from first_acc to final_acc."""
    steps = np.array([round(0.1 * i, 1) for i in range(1, 11)] + [float(e) for e in range(2, epochs + 1)])
    fall = np.exp(-(steps - 0.1) / (tau * spread(k, 0.15)))
    loss = 0.5 + (first_loss * spread(k, 0.02) - 0.5) * fall + noise(k, len(steps), jitter)
    loss = spikes(loss, [int(np.searchsorted(steps, e)) for e in peaks], 0.05)
    acc = final_acc * spread(k, 0.01) - (final_acc - first_acc * spread(k, 0.02)) * fall
    return history(loss, list(acc), list(steps))


def pair(size, epochs, first_acc, final_acc, first_loss, tau, **kw) -> dict:
    return over_seeds(
        lambda k: batch_history(k, first_acc, final_acc, first_loss, tau, epochs, **kw), batch_size=size, epochs=epochs
    )


def facts() -> dict:
    """Made-up facts on which every claim of sections 1.1.1-1.1.4 holds, over eight seeds that vary."""
    return {
        "lr_sweep": {"plain": sweep(PLAIN), "batchnorm": sweep(BATCHNORM)},
        "long": {
            "plain": over_seeds(lambda k: history(long_plain(k))),
            "batchnorm": over_seeds(lambda k: history(decay(k, 1.5, 0.13, 5, n=100, jitter=0.0005))),
        },
        "batch": {
            "b1-e1": pair(1, 1, 0.8, 0.81, 1.0, 0.3),
            "b16-e1": pair(16, 1, 0.5, 0.6, 1.5, 0.5),
            "b128-e50": pair(128, 50, 0.3, 0.9, 2.0, 1.0, jitter=0.002, peaks=(15, 30, 45)),
            "b1024-e50": pair(1024, 50, 0.1, 0.85, 2.5, 33.0, jitter=0.004),
        },
        "course": copy.deepcopy(COURSE),
    }


def judge(claim_id: str, *edits) -> dict:
    data = facts()
    for edit in edits:
        edit(data)
    return MINE[claim_id](data)


def node_at(data, path):
    for key in path:
        data = data[key]
    return data


def put(*path_and_value):
    """An edit setting facts[path...] = value."""
    *path, value = path_and_value
    return lambda data: node_at(data, path[:-1]).__setitem__(path[-1], copy.deepcopy(value))


def drop(*path):
    return lambda data: node_at(data, path[:-1]).__delitem__(path[-1])


def flag(key, *path, seeds=range(SEEDS)):
    """An edit setting `key` on a run and on its replicates `seeds` (all of them unless given)."""

    def edit(data):
        node = node_at(data, path)
        node[key] = True
        for k in seeds:
            node["replicates"][k][key] = True

    return edit


def diverge(*path, seeds=range(SEEDS)):
    return flag("diverged", *path, seeds=seeds)


def collapse(*path, seeds=range(SEEDS)):
    return flag("collapsed", *path, seeds=seeds)


def everywhere(*path_and_value):
    """An edit setting `key` = value on a run and each of its replicates (what each seed's view reads)."""
    *path, key, value = path_and_value

    def edit(data):
        node = node_at(data, path)
        for record in (node, *node["replicates"]):
            record[key] = copy.deepcopy(value)

    return edit


def edits(*fns):
    def edit(data):
        for fn in fns:
            fn(data)

    return edit


def plain(lr, make):
    return put("lr_sweep", "plain", lr, over_seeds(lambda k: history(make(k))))


def normed(lr, make):
    return put("lr_sweep", "batchnorm", lr, over_seeds(lambda k: history(make(k))))


def long(variant, make):
    return put("long", variant, over_seeds(lambda k: history(make(k))))


def batch_pair(name, *args, **kw):
    return put("batch", name, pair(*args, **kw))


COUNTER = {  # claim id -> an edit after which the claim does not hold
    "lr_largest_stalls": plain(1.0, lambda k: decay(k, 3.0, 0.7, 10)),
    "lr_smallest_slow": plain(0.0001, lambda k: decay(k, 2.0, 0.3, 2)),
    "lr_middle_best": plain(0.0001, lambda k: list(0.3 * spread(k) * np.ones(50) + noise(k, 50, 0.01))),
    "long_early_drop": long("plain", lambda k: long_plain(k, tau=1 + 0.15 * k)),  # flat from epoch ~5: no knee at 20
    "long_peaks": long("plain", lambda k: decay(k, 1.6, 0.15, 8.7, n=100)),  # ordinary jitter only
    "bn_steadier_lr001": normed(0.01, lambda k: decay(k, 1.2, 0.4, 4, peak=0.2)),
    "bn_steadier_lr0001": normed(0.001, lambda k: decay(k, 0.9, 0.38, 2.5, peak=0.12, every=2)),
    "bn_steadier_most_lr001": normed(0.01, lambda k: decay(k, 0.8, 0.36, 1.5, peak=0.08)),
    "bn_steadier_long": long("batchnorm", lambda k: decay(k, 1.5, 0.13, 5, n=100, peak=0.1, every=2)),
    "bn_stabilises_faster": normed(0.001, lambda k: decay(k, 0.9, 0.38, 20)),
    "bn_remains_stable": normed(0.01, lambda k: spikes(decay(k, 0.8, 0.36, 1.5), [30 + k], 0.3)),
    "bn_smallest_lr_faster": normed(0.0001, lambda k: [x + 0.5 for x in PLAIN[0.0001](k)]),
    "bn_lr1_unstable": normed(1.0, lambda k: list(3.0 + noise(k, 50, 0.005))),
    "bn_lr1_worst": normed(1.0, lambda k: decay(k, 0.8, 0.2, 1.5)),
    "batch1_beats_16": batch_pair("b1-e1", 1, 1, 0.5, 0.55, 1.0, 0.3),
    "batch1_about_course": batch_pair("b1-e1", 1, 1, 0.8, 0.7, 1.0, 0.3),
    "initial_acc_falls": batch_pair("b1024-e50", 1024, 50, 0.4, 0.85, 2.5, 33.0),
    "initial_loss_rises": batch_pair("b1024-e50", 1024, 50, 0.1, 0.85, 1.8, 33.0),
    "b128_beats_b1024": batch_pair("b1024-e50", 1024, 50, 0.1, 0.97, 2.5, 2.0),
    "b128_stabilises_faster": edits(  # the two pairs' paces swapped
        batch_pair("b128-e50", 128, 50, 0.3, 0.9, 2.0, 33.0), batch_pair("b1024-e50", 1024, 50, 0.1, 0.85, 2.5, 1.0)
    ),
    "b128_some_noise": batch_pair("b128-e50", 128, 50, 0.3, 0.9, 2.0, 1.0, jitter=0.002),
    "b1024_not_noisy": batch_pair("b1024-e50", 1024, 50, 0.1, 0.85, 2.5, 33.0, jitter=0.01, peaks=(15, 30, 45)),
    "b1024_needs_more_epochs": batch_pair("b1024-e50", 1024, 50, 0.1, 0.85, 2.5, 5.0),
}

LR, LONG, BATCH = ("lr_sweep",), ("long",), ("batch",)
DEGENERATE = [  # (claim id, edit, the verdict its docstring promises, a word of the evidence)
    ("lr_largest_stalls", diverge(*LR, "plain", 1.0, seeds=[3]), FAILS, "diverged"),
    ("lr_largest_stalls", drop("lr_sweep"), CANNOT, "lr_sweep"),
    ("lr_smallest_slow", plain(0.0001, lambda k: [None] * 50), CANNOT, "finite"),
    ("lr_smallest_slow", diverge(*LR, "plain", 0.001), CANNOT, "diverged"),
    ("lr_smallest_slow", collapse(*LR, "plain", 0.0001, seeds=[0]), FAILS, "collapsed"),
    ("lr_middle_best", diverge(*LR, "plain", 0.01), FAILS, "diverged"),
    ("lr_middle_best", collapse(*LR, "plain", 0.0001, seeds=[0, 1, 2, 3, 4, 5]), CANNOT, "collapsed"),
    ("lr_middle_best", edits(drop(*LR, "plain", 0.01), drop(*LR, "plain", 0.001)), CANNOT, "middle"),
    ("long_early_drop", long("plain", lambda k: long_plain(k)[:22]), CANNOT, "after epoch 25"),
    ("long_early_drop", diverge(*LONG, "plain", seeds=[5]), FAILS, "diverged"),
    ("long_early_drop", long("plain", lambda k: list(0.5 + noise(k, 100, 0.01))), FAILS, "no drop"),
    ("long_peaks", long("plain", lambda k: long_plain(k)[:21]), CANNOT, "after epoch 20"),
    ("long_peaks", collapse(*LONG, "plain", seeds=[2]), FAILS, "collapsed"),
    ("bn_steadier_lr001", drop(*LR, "batchnorm", 0.01), CANNOT, "0.01"),
    ("bn_steadier_lr001", collapse(*LR, "plain", 0.01, seeds=[0, 1, 2, 3, 4, 5]), CANNOT, "collapsed"),
    ("bn_steadier_lr0001", diverge(*LR, "batchnorm", 0.001), FAILS, "diverged"),
    ("bn_steadier_most_lr001", diverge(*LR, "batchnorm", 0.001, seeds=[7]), FAILS, "diverged"),
    ("bn_steadier_most_lr001", drop(*LR, "plain", 0.001), CANNOT, "0.001"),
    ("bn_steadier_long", diverge(*LONG, "batchnorm"), FAILS, "diverged"),
    ("bn_steadier_long", diverge(*LONG, "plain"), CANNOT, "diverged"),
    ("bn_steadier_long", long("plain", lambda k: [1.0] * 100), FAILS, "no peaks"),
    ("bn_stabilises_faster", diverge(*LR, "plain", 0.01), CANNOT, "diverged"),
    ("bn_stabilises_faster", collapse(*LR, "batchnorm", 0.01, seeds=[1]), FAILS, "collapsed"),
    ("bn_remains_stable", normed(0.01, lambda k: BATCHNORM[0.01](k)[:15]), CANNOT, "after epoch 20"),
    ("bn_remains_stable", collapse(*LR, "batchnorm", 0.001, seeds=[4]), FAILS, "collapsed"),
    ("bn_smallest_lr_faster", diverge(*LR, "plain", 0.0001), CANNOT, "diverged"),
    ("bn_smallest_lr_faster", diverge(*LR, "batchnorm", 0.0001), FAILS, "diverged"),
    ("bn_lr1_unstable", diverge(*LR, "batchnorm", 1.0), CANNOT, "diverged"),
    ("bn_lr1_worst", normed(1.0, lambda k: [None] * 50), CANNOT, "finite"),
    ("bn_lr1_worst", diverge(*LR, "batchnorm", 1.0), CANNOT, "diverged"),
    ("batch1_beats_16", drop(*BATCH, "b16-e1"), CANNOT, "batch size 16"),
    ("batch1_beats_16", diverge(*BATCH, "b1-e1", seeds=[0]), FAILS, "diverged"),
    ("batch1_about_course", drop("course"), CANNOT, "course"),
    ("batch1_about_course", diverge(*BATCH, "b1-e1"), FAILS, "diverged"),
    ("initial_acc_falls", everywhere(*BATCH, "b16-e1", "test_acc", [None] * 10), CANNOT, "test_acc"),
    ("initial_acc_falls", everywhere(*BATCH, "b16-e1", "epoch", [1.0] * 10), CANNOT, "not comparable"),
    ("initial_loss_rises", diverge(*BATCH, "b1024-e50"), CANNOT, "diverged"),
    ("b128_beats_b1024", put(*BATCH, "b1024-e50", "epochs", 40), CANNOT, "different numbers of epochs"),
    ("b128_beats_b1024", diverge(*BATCH, "b128-e50", seeds=[6]), FAILS, "diverged"),
    ("b128_beats_b1024", collapse(*BATCH, "b1024-e50", seeds=[0, 1, 2, 3, 4, 5]), CANNOT, "collapsed"),
    ("b128_stabilises_faster", diverge(*BATCH, "b1024-e50"), CANNOT, "diverged"),
    ("b128_stabilises_faster", collapse(*BATCH, "b128-e50", seeds=[3]), FAILS, "collapsed"),
    ("b128_some_noise", diverge(*BATCH, "b128-e50"), FAILS, "diverged"),
    ("b128_some_noise", drop(*BATCH, "b128-e50"), CANNOT, "batch size 128"),
    ("b1024_not_noisy", batch_pair("b128-e50", 128, 50, 0.3, 0.9, 2.0, 1.0, jitter=0.0), FAILS, "no noise"),
    ("b1024_not_noisy", collapse(*BATCH, "b1024-e50", seeds=[2]), FAILS, "collapsed"),
    ("b1024_needs_more_epochs", diverge(*BATCH, "b1024-e50", seeds=[1]), FAILS, "diverged"),
    ("b1024_needs_more_epochs", everywhere(*BATCH, "b1024-e50", "test_loss", [None] * 59), CANNOT, "finite"),
]


def test_every_claim_of_the_sections_has_a_counter_example_and_a_degenerate_case():
    assert set(COUNTER) == set(MINE) == {c for c, *_ in DEGENERATE}
    assert len(MINE) == 23 and "larger_batches_faster" not in MINE  # the wall-clock claim: stages/timings.py


@pytest.mark.parametrize("claim_id", list(MINE))
def test_each_claim_holds_over_eight_seeds_that_vary(claim_id):
    result = judge(claim_id)
    assert result["verdict"] == HOLDS, result
    assert result["seeds_counted"] == SEEDS and result["interval"][0] > result["margin"] == 0, result


@pytest.mark.parametrize("claim_id", list(MINE))
def test_each_claim_does_not_hold_on_its_counter_example(claim_id):
    result = judge(claim_id, COUNTER[claim_id])
    assert result["verdict"] == FAILS, result
    assert result["interval"][1] < result["margin"] and result["evidence"], result


@pytest.mark.parametrize(
    "claim_id, edit, verdict, word", DEGENERATE, ids=[f"{c}-{i}" for i, (c, *_) in enumerate(DEGENERATE)]
)
def test_degenerate_input_gives_the_promised_verdict(claim_id, edit, verdict, word):
    result = judge(claim_id, edit)
    assert result["verdict"] == verdict, result
    assert word.lower() in result["evidence"].lower(), result["evidence"]


def test_a_collapsed_subject_with_a_loss_is_judged_on_it():
    """A collapsed middle lr or BatchNorm run still has a loss: every seed's real effect is judged."""
    stuck = [normed(0.0001, lambda k: list(2.5 + noise(k, 50, 0.01))), collapse(*LR, "batchnorm", 0.0001)]
    result = judge("bn_smallest_lr_faster", *stuck)
    assert result["verdict"] == FAILS and result["seeds_counted"] == SEEDS and result["effect"] < 0, result
    result = judge(
        "lr_middle_best", plain(0.01, lambda k: list(2.5 + noise(k, 50, 0.01))), collapse(*LR, "plain", 0.01)
    )
    assert result["verdict"] == FAILS and result["seeds_counted"] == SEEDS, result


def test_a_collapsed_subject_with_an_accuracy_is_judged_on_it():
    """A collapsed batch-1 run still has an accuracy: every seed's real effect is judged, not an early exit."""
    low = put(*BATCH, "b1-e1", pair(1, 1, 0.2, 0.25, 1.0, 0.3))
    result = judge("batch1_beats_16", low, collapse(*BATCH, "b1-e1"))
    assert result["verdict"] == FAILS and result["seeds_counted"] == SEEDS and result["effect"] < 0, result


def test_a_verdict_near_its_threshold_is_flagged_and_a_robust_one_is_not():
    near = plain(1.0, lambda k: list(np.array([3.0, 2.73] * 25) + noise(k, 50, 0.002)))  # drop 9%, STALL_DROP 10%
    result = judge("lr_largest_stalls", near)
    assert result["verdict"] == HOLDS and result["sensitive_to"] == ["STALL_DROP"], result
    robust = judge("lr_largest_stalls")  # a drop of about 1%
    assert robust["verdict"] == HOLDS and robust["sensitive_to"] == [], robust


# --- The readings behind the checks --------------------------------------------------------------------------------
EPOCHS = np.arange(1.0, 51.0)


def test_one_late_spike_does_not_undo_the_settling():
    smooth = 0.4 + 0.8 * np.exp(-(EPOCHS - 1) / 3)
    spiked = smooth.copy()
    spiked[45] += 0.5  # a spike at epoch 46, far outside the band
    assert (
        7 <= trends.settle_epoch(EPOCHS, smooth, 0.1, 0.1) <= 9 and trends.settle_epoch(EPOCHS, spiked, 0.1, 0.1) <= 9
    )
    assert trends.settle_epoch(EPOCHS, spiked, 0.1, 0.0) == 47  # allowing no evaluation out: settled after the spike


def test_a_curve_that_keeps_leaving_its_band_settles_late():
    peaky = 0.4 + 0.8 * np.exp(-(EPOCHS - 1) / 3) + np.where(EPOCHS % 3 == 0, 0.2, 0.0)
    assert trends.settle_epoch(EPOCHS, peaky, 0.1, 0.1) >= 45
    assert trends.settle_epoch(EPOCHS, np.full(50, 0.7), 0.1, 0.1) == 1  # flat: settled from the start


def test_the_knee_must_be_near_epoch_20_not_at_epoch_2_nor_late():
    effect = {}
    for tau in (1.0, 8.7, 25.0):  # knees at about epoch 5, 20 and 55
        result = judge("long_early_drop", long("plain", lambda k, t=tau: long_plain(k, tau=t + 0.15 * k)))
        effect[tau] = (result["verdict"], round(result["numbers"]["knee_epoch"]))
    assert effect[8.7][0] == HOLDS and 15 <= effect[8.7][1] <= 25
    assert effect[1.0][0] == FAILS and effect[1.0][1] < 10 and effect[25.0][0] == FAILS and effect[25.0][1] > 40


def test_ordinary_jitter_of_5_percent_is_no_peak_and_one_peak_is_not_sometimes():
    jitter = long("plain", lambda k: list(0.5 * (1 + 0.05 * np.random.default_rng(k).standard_normal(100))))
    assert judge("long_peaks", jitter)["verdict"] == FAILS  # rises of 5% and more, all of them ordinary
    one = long("plain", lambda k: spikes(decay(k, 1.6, 0.15, 8.7, n=100), [40 + k], 0.05))
    assert judge("long_peaks", one)["verdict"] == FAILS  # PEAK_COUNT is 2: "sometimes"
    scores = trends.rise_scores(np.array([1.0] * 10 + [2.0]))  # steps all 0 but one: MAD 0, mean AD fallback
    assert math.isfinite(scores[0]) and scores[0] > optimisation.PEAK_Z


def test_bn_remains_stable_compares_batchnorm_with_plain():
    """BatchNorm straying as far from its level after epoch 20 as plain does is not 'remains stable' by comparison."""
    as_plain = [normed(lr, PLAIN[lr]) for lr in (0.01, 0.001)]
    assert judge("bn_remains_stable", *as_plain)["verdict"] != HOLDS
    calm_plain = [plain(lr, BATCHNORM[lr]) for lr in (0.01, 0.001)]  # plain as calm as BatchNorm: no gain
    assert judge("bn_remains_stable", *calm_plain)["verdict"] != HOLDS


def test_over_time_is_the_whole_run_not_its_end():
    """Batch 1024 ahead over the last 10 epochs only: 128 still achieves the better result over time; under the old
    window (the last 10 of 50 epochs) it did not."""
    data = facts()
    batch_pair("b1024-e50", 1024, 50, 0.1, 0.95, 2.5, 12.0)(data)
    result = MINE["b128_beats_b1024"](data, previous={"OVER_TIME_SHARE": 0.2})
    assert result["verdict"] == HOLDS and result["verdict_with_previous"] == {"OVER_TIME_SHARE": FAILS}, result


def test_especially_at_001_compares_the_two_rates_ratios():
    result = judge("bn_steadier_most_lr001")
    assert result["numbers"]["ratio_lr001"] < result["numbers"]["ratio_lr0001"]


def test_the_thresholds_file_lists_every_threshold_of_the_two_sections_with_its_value():
    from pathlib import Path

    import yaml

    listed = yaml.safe_load((Path(__file__).resolve().parents[1] / "reference/thresholds.yaml").read_text())
    for module in (optimisation, batch):
        block = listed[module.__name__.rsplit(".", 1)[-1]]
        assert list(block) == list(module.THRESHOLDS)
        for name, entry in block.items():
            assert entry["value"] == getattr(module, name), name
            assert entry["registered"] in ("before", "after") and entry["words"] and entry["reading"]
            assert entry["registered"] == "after" or entry["previous"] is None, name


# --- The wall-clock claim, judged in the timings report --------------------------------------------------------------
def timings_stage():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "stages" / "timings.py"
    spec = importlib.util.spec_from_file_location("stage_timings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_speed_claim_is_judged_on_the_t_interval_of_its_repeats():
    stage = timings_stage()
    assert stage.judge([4.9, 5.1, 4.7, 5.3, 5.0])["verdict"] == HOLDS
    assert stage.judge([-0.3, -0.2, -0.25, -0.35, -0.3])["verdict"] == FAILS
    noisy = stage.judge([2.0, -1.5, 0.4, -0.8, 0.3])  # the same numbers around zero: no verdict
    assert noisy["verdict"] == CANNOT and noisy["reason"] == "within noise" and noisy["interval"][0] < 0
    assert stage.judge([1.0] * 5)["reason"] == "one run"  # repeats that do not vary: no noise to judge against
    seconds = {1: [10.0, 12.0], 16: [2.0, 2.0], 128: [1.0, 1.5]}
    assert stage.speedups(seconds) == pytest.approx([1.0, 0.3333333])  # 16 -> 128 is the smallest step each time


def test_the_speed_claim_times_every_batch_size_in_every_repeat_and_reads_as_a_page(tmp_path):
    stage = timings_stage()
    seconds = stage.time_batches([1, 64], depth=2, width=4, n_train=640, repeats=3, steps=2)
    assert sorted(seconds) == [1, 64] and all(len(v) == 3 and min(v) > 0 for v in seconds.values())
    (tmp_path / "mlp_batch.json").write_text('{"wall_seconds": 3.0, "b1-e1_seconds_per_epoch": 2.5}')
    text = stage.page(tmp_path, stage.claim_section(seconds, stage.judge(stage.speedups(seconds))))
    assert f'"{stage.SENTENCE}"' in text and "| 64 |" in text and "| b1-e1 | 2.5 |" in text


def test_first_evaluations_a_few_steps_apart_still_compare():
    """Rounded evaluation steps put batch 1024's first evaluation at epoch 0.095 and batch 128's at 0.1005."""
    epochs = facts()["batch"]["b1024-e50"]["epoch"]
    nearby = everywhere(*BATCH, "b1024-e50", "epoch", [0.095] + epochs[1:])
    assert judge("initial_acc_falls", nearby)["verdict"] == HOLDS
    far = everywhere(*BATCH, "b1024-e50", "epoch", [0.2] + epochs[1:])
    assert judge("initial_acc_falls", far)["verdict"] == CANNOT


def test_curves_compared_settle_on_one_scale():
    """BatchNorm near its level from epoch 1, wiggling by a twentieth of plain's fall: settled at once on the scale
    they share, never on its own tiny change."""
    plain_curve = 0.4 + 0.8 * np.exp(-(EPOCHS - 1) / 6)
    normed_curve = 0.36 + 0.04 * (EPOCHS % 2)
    scale = trends.common_scale((EPOCHS, plain_curve), (EPOCHS, normed_curve))
    assert trends.settle_epoch(EPOCHS, normed_curve, 0.1, 0.1, scale) == 1
    assert trends.settle_epoch(EPOCHS, normed_curve, 0.1, 0.1) > 40
    assert trends.settle_epoch(EPOCHS, plain_curve, 0.1, 0.1, scale) > 10
