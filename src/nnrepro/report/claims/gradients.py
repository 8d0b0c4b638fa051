"""1.2.5 Gradient magnitudes: the plain 100-layer net's vanishing gradient (its picture, its backwards order and its
explanation), and the residual net's cure. Judged over the probe's seeds: each seed's view holds that seed alone,
and every check computes its effect per seed (a dead seed stays dead; curves are never averaged over seeds)."""

import math

import numpy as np

from nnrepro.report.claims.core import COLLAPSED, COLLAPSED_NOTE, PROBE, Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import get

# Thresholds, each a reading of the course's words (reference/thresholds.yaml says which were set before and which
# after a committed result showed their quantity, and what each re-derived one was before: a value in its unit, or
# the old rule in words).
GRADIENT_RATIO = 1e-3  # squared norms: under 1e-3x the last layers' a layer has vanished ("y = 0"); at/above, alive
DEAD_SHARE = 0.5  # "a vanishing gradient", not a dead network: every early layer keeps most (> 50%) of its units alive
THRESHOLDS = ("GRADIENT_RATIO", "DEAD_SHARE")
LAST_LAYERS_SPAN = 5  # "all the layers before the 95th" of 100 vanish: the last 5 layers keep a gradient
FLOOR = 1e-30  # a squared norm can underflow to 0: ratios are read as at least this (30 decades)


def _probe(facts: dict, variant: str) -> tuple:
    """(layers, last[layer], grads[seed, epoch, layer], dead[seed, epoch, layer]) of this view's seeds; a value
    missing in any seed: cannot be judged (missing)."""
    depth = int(get(facts, "probe", "depth"))
    layers = [int(x) for x in get(facts, "probe", variant, "layers")]
    arrays = []
    for key in ("grad_sq_norm", "dead_fraction"):
        raw = get(facts, "probe", variant, key)
        try:
            array = np.array([[[np.nan if x is None else x for x in e] for e in s] for s in raw], float)
        except ValueError:
            raise cannot(f"probe.{variant}.{key} is ragged") from None
        if array.ndim != 3 or array.shape[2] != len(layers) or array.shape[1] == 0:
            raise cannot(f"probe.{variant}.{key} is not [seed][epoch][layer] over {len(layers)} layers")
        arrays.append(array)
    if arrays[0].shape != arrays[1].shape:
        raise cannot(f"probe.{variant} gradients and dead fractions differ in shape")
    if not (np.isfinite(arrays[0]).all() and np.isfinite(arrays[1]).all()):
        raise cannot(f"probe.{variant} has missing values")
    last = np.array([layer >= depth - LAST_LAYERS_SPAN for layer in layers])
    return np.array(layers), last, arrays[0], arrays[1]


def _flags(facts: dict, variant: str, key: str) -> list:
    return [bool(x) for x in facts["probe"][variant].get(key) or []]


def _sound(facts: dict, variant: str, subject: bool, failing: bool = False) -> None:
    """A variant that diverged, or collapsed, in one of this view's seeds: does not hold if the claim is about it,
    the seed dropped if it is only compared with; a collapse the claim describes (failing) is judged."""
    for key in ("diverged", "collapsed"):
        if key == "collapsed" and failing:
            continue
        broke = sum(_flags(facts, variant, key))
        if broke and subject:
            raise fails(f"the {variant} network {key} in {broke} seed(s)")
        if broke:
            raise cannot(f"the {variant} network {key} in {broke} seed(s): nothing sound to compare with", COLLAPSED)


def _note(facts: dict, variant: str) -> str:
    return COLLAPSED_NOTE if any(_flags(facts, variant, "collapsed")) else ""


def _keeps_gradient(grads: np.ndarray, layers: np.ndarray, which: np.ndarray, variant: str) -> None:
    """Does not hold when a seed's network is dead (every probed gradient exactly 0) or one of the `which` layers has
    a gradient of exactly 0 in some epoch."""
    for seed, g in enumerate(grads):
        if (g == 0).all():
            raise fails(f"the {variant} network is dead: every probed gradient is exactly 0 (seed {seed})")
        if (g[:, which] == 0).any():
            epoch, layer = np.argwhere(g[:, which] == 0)[0]
            raise fails(f"{variant} layer {layers[which][layer]}'s gradient is exactly 0 in epoch {epoch + 1}")


def _decades(ratio: np.ndarray, th) -> np.ndarray:
    """How many orders of magnitude each ratio lies below GRADIENT_RATIO."""
    return math.log10(th.GRADIENT_RATIO) - np.log10(np.maximum(ratio, FLOOR))


def _plain(facts: dict) -> tuple:
    """The plain network's probe, its last layers keeping a gradient in every epoch and seed (else: does not hold)."""
    layers, last, grads, dead = _probe(facts, "plain")
    if last.all() or not last.any():
        raise cannot(f"the probed layers {list(layers)} do not include both early and last layers")
    _sound(facts, "plain", True, failing=True)
    _keeps_gradient(grads, layers, last, "plain")
    return layers, last, grads, dead


@claim(
    "plain_vanishing",
    "1.2.5",
    f"The 100-layer plain network's gradient vanishes: in every seed, every probed layer before the last "
    f"{LAST_LAYERS_SPAN} has a mean squared gradient norm under {GRADIENT_RATIO:g}x that of each of the last layers, "
    "which stay non-zero in every epoch.",
    "with all the layers before the 95th having their gradient converging to zero",
    over=PROBE,
)
def plain_vanishing(facts: dict, th) -> Finding:
    """The picture, from each seed's gradient curves. Effect: decades below GRADIENT_RATIO of the largest early
    layer's mean over epochs against the smallest last layer's. A seed dead (every gradient 0) or a last layer 0 in
    some epoch: does not hold (the course saw layers 95 and 99 keep a gradient); early layers exactly 0 under live
    last layers count as vanished. Diverged: does not hold; collapsed: judged (a net whose gradient vanished learns
    nothing), the verdict says so. Missing probe: cannot be judged."""
    _, last, grads, _ = _plain(facts)
    means = grads.mean(axis=1)  # [seed, layer]: each seed's own curve, averaged over epochs only
    ratio = means[:, ~last].max(axis=1) / means[:, last].min(axis=1)
    return Finding(
        float(_decades(ratio, th).mean()),
        "largest early / smallest last layer gradient: " + ", ".join(f"{r:.2g}" for r in ratio),
        {"early_to_last_ratio": float(np.exp(np.log(np.maximum(ratio, FLOOR)).mean()))},
        note=_note(facts, "plain"),
    )


@claim(
    "plain_not_dead_units",
    "1.2.5",
    f"The plain network's early layers vanish for lack of gradient, not for dead units: at the end every early "
    f"layer has under {DEAD_SHARE:.0%} of its units dead.",
    "In Figure 13 we can see a vanishing gradient",
    over=PROBE,
)
def plain_not_dead_units(facts: dict, th) -> Finding:
    """The explanation, from the dead-unit fractions. Effect: DEAD_SHARE minus the most-dead early layer's dead
    fraction at the last epoch (share of units). Diverged: does not hold; collapsed: judged, the verdict says so.
    Missing probe: cannot be judged."""
    depth = int(get(facts, "probe", "depth"))
    layers, _, _, dead = _probe(facts, "plain")
    early = layers < depth - LAST_LAYERS_SPAN
    if not early.any():
        raise cannot(f"the probed layers {list(layers)} include no early layer")
    _sound(facts, "plain", True, failing=True)
    worst = dead[:, -1, early].max(axis=1)  # [seed]
    return Finding(
        float(th.DEAD_SHARE - worst.mean()),
        "most-dead early layer's dead fraction at the end: " + ", ".join(fmt(w) for w in worst),
        {"most_dead_early_fraction": float(worst.mean()), "early_dead_fraction": float(dead[:, -1, early].mean())},
        note=_note(facts, "plain"),
    )


def _concordance(layers: np.ndarray, means: np.ndarray) -> float:
    """Kendall's tau of layer index against gradient: +1 when every deeper layer has the larger gradient."""
    i, j = np.triu_indices(len(layers), k=1)
    signs = np.sign(layers[j] - layers[i]) * np.sign(means[j] - means[i])
    return float(signs.mean())


@claim(
    "plain_backwards",
    "1.2.5",
    "The plain network's gradient fades backwards from the output: in each seed, of every pair of probed layers the "
    "deeper one has the larger mean squared gradient norm more often than not (Kendall's tau above 0), and the last "
    f"{LAST_LAYERS_SPAN} layers stay non-zero in every epoch.",
    "The reason we see it in a backwards manner (that the deeper layers still have some non-zero gradient)",
    over=PROBE,
)
def plain_backwards(facts: dict, th) -> Finding:
    """Effect: Kendall's tau between layer index and the layer's mean gradient over epochs (exact ties count 0). A
    seed dead, or a last layer 0 in some epoch: does not hold; diverged: does not hold; collapsed: judged, the
    verdict says so. Missing probe: cannot be judged."""
    layers, _, grads, _ = _plain(facts)
    tau = [_concordance(layers, g.mean(axis=0)) for g in grads]
    return Finding(
        float(np.mean(tau)),
        "Kendall's tau of layer against gradient: " + ", ".join(fmt(t) for t in tau),
        {"kendall_tau": float(np.mean(tau))},
        note=_note(facts, "plain"),
    )


@claim(
    "residual_alive",
    "1.2.5",
    "The residual network keeps every probed layer alive: in each seed, every layer's squared gradient norm is "
    f"non-zero in every epoch and its mean at least {GRADIENT_RATIO:g}x that of the largest of the last "
    f"{LAST_LAYERS_SPAN} layers (the ones the plain net keeps).",
    "Make our network a ResNet (i.e. with residual layers)",
    over=PROBE,
)
def residual_alive(facts: dict, th) -> Finding:
    """The cure, read against the plain picture's own reference (the last layers). Effect: decades above
    GRADIENT_RATIO of the smallest layer's mean over epochs against the largest last layer's. A layer exactly 0 in
    any epoch, or a seed dead: does not hold; diverged or collapsed: does not hold (the cure should learn). Missing:
    cannot be judged."""
    layers, last, grads, _ = _probe(facts, "residual")
    if not last.any():
        raise cannot(f"the probed layers {list(layers)} include none of the last {LAST_LAYERS_SPAN}")
    _sound(facts, "residual", True)
    _keeps_gradient(grads, layers, np.ones(len(layers), bool), "residual")
    means = grads.mean(axis=1)
    ratio = means.min(axis=1) / means[:, last].max(axis=1)
    return Finding(
        float(-_decades(ratio, th).mean()),
        "smallest layer / largest last layer gradient: " + ", ".join(f"{r:.2g}" for r in ratio),
        {"smallest_to_last_ratio": float(np.exp(np.log(np.maximum(ratio, FLOOR)).mean()))},
    )


def _final_acc(facts: dict, variant: str) -> np.ndarray:
    values = np.array([np.nan if v is None else v for v in get(facts, "probe", variant, "final_validation_acc")])
    if not np.isfinite(values).all():
        raise cannot(f"probe.{variant} lacks a finite final validation accuracy")
    return values


@claim(
    "residual_better_results",
    "1.2.5",
    "The residual network shows better results than the plain one at 100 layers: higher final validation accuracy, "
    "seed by seed, where the plain net learned something (did not collapse).",
    "This method has been experimented and shows better results for deeper networks",
    over=PROBE,
)
def residual_better_results(facts: dict, th) -> Finding:
    """Effect: residual minus plain final validation accuracy. The residual net diverged or collapsed: does not
    hold; the plain net diverged or collapsed: the seed is dropped (beating a one-class predictor says nothing), so
    a plain net collapsed in every seed cannot be judged (collapsed). Missing accuracies: cannot be judged."""
    residual, plain = _final_acc(facts, "residual"), _final_acc(facts, "plain")
    if residual.shape != plain.shape:
        raise cannot("the residual and plain probes have different numbers of seeds")
    _sound(facts, "residual", True)
    _sound(facts, "plain", False)
    return Finding(
        float((residual - plain).mean()),
        f"final validation accuracy: residual {fmt(residual.mean())}, plain {fmt(plain.mean())}",
        {"residual_validation_acc": float(residual.mean()), "plain_validation_acc": float(plain.mean())},
    )
