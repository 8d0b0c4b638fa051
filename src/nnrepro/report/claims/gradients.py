"""1.2.5 Gradient magnitudes: the plain 100-layer net's vanishing gradient (its picture and its explanation), and the
residual net's cure. Judged over the probe's seeds (each seed's view holds that seed alone)."""

import math

import numpy as np

from nnrepro.report.claims.core import COLLAPSED_NOTE, PROBE, Finding, cannot, claim, fails, fmt
from nnrepro.report.claims.reading import get

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
GRADIENT_RATIO = 1e-3  # squared norms: under 1e-3x the reference a layer has vanished ("y = 0"); at/above, alive
DEAD_SHARE = 0.5  # "vanishing", not dead units: under half of the early layers' units dead at the end
THRESHOLDS = ("GRADIENT_RATIO", "DEAD_SHARE")
LAST_LAYERS_SPAN = 5  # "all the layers before the 95th" of 100 vanish: the last 5 layers keep a gradient
MOST_SEEDS = 0.5  # "the network is dead" when strictly more than half of the seeds are
FLOOR = 1e-30  # a squared norm can underflow to 0: ratios are read as at least this (30 decades)


def _probe(facts: dict, variant: str) -> tuple:
    """(layers, grads[seed, epoch, layer], dead[seed, epoch, layer]) of the seeds with every value finite."""
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
    finite = np.isfinite(arrays[0]).all(axis=(1, 2)) & np.isfinite(arrays[1]).all(axis=(1, 2))
    if not finite.any():
        raise cannot(f"probe.{variant} has missing values in every seed")
    return layers, arrays[0][finite], arrays[1][finite]


def _note(facts: dict, variant: str) -> str:
    return COLLAPSED_NOTE if any(facts["probe"][variant].get("collapsed") or []) else ""


def _refuse_collapsed(facts: dict, variant: str) -> None:
    """Does not hold when the network collapsed (one class predicted) in most seeds."""
    collapsed = [bool(c) for c in facts["probe"][variant].get("collapsed") or []]
    if sum(collapsed) > MOST_SEEDS * max(len(collapsed), 1):
        raise fails(
            f"the {variant} network collapsed (one class predicted) in {sum(collapsed)} of {len(collapsed)} seeds"
        )


def _alive(grads: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The seeds whose network is not dead: some probed gradient, and some last-layer gradient, is not 0."""
    live = np.array([(g != 0).any() and (g[:, last] != 0).any() for g in grads])
    if (~live).sum() > MOST_SEEDS * len(grads):
        reason = (
            "every probed gradient is exactly 0"
            if all((g == 0).all() for g in grads[~live])
            else "its last layers' gradients are exactly 0"
        )
        raise fails(f"the network is dead: {reason} in {int((~live).sum())} of {len(grads)} seeds")
    return live


def _decades(ratio: float, th) -> float:
    """How many orders of magnitude `ratio` lies below GRADIENT_RATIO."""
    return math.log10(th.GRADIENT_RATIO) - math.log10(max(ratio, FLOOR))


@claim(
    "plain_vanishing",
    "1.2.5",
    f"The 100-layer plain network's gradient vanishes: averaged over the live seeds, every probed layer before the "
    f"last {LAST_LAYERS_SPAN} has a mean squared gradient norm under {GRADIENT_RATIO:g}x that of each of the last "
    "layers, which stay non-zero in every epoch.",
    "with all the layers before the 95th having their gradient converging to zero",
    over=PROBE,
)
def plain_vanishing(facts: dict, th) -> Finding:
    """The picture, from the gradient curves alone. Effect: decades below GRADIENT_RATIO. Most seeds dead (every
    gradient 0, or the last layers' all 0): does not hold ('the network is dead': the course saw non-zero layers 95
    and 99). Early layers exactly 0 under live last layers count as vanished. Collapsed: judged (a net whose gradient
    vanished learns nothing), and the verdict says so. Missing probe: cannot be judged."""
    depth = int(get(facts, "probe", "depth"))
    layers, grads, _ = _probe(facts, "plain")
    last = np.array([layer >= depth - LAST_LAYERS_SPAN for layer in layers])
    if last.all() or not last.any():
        raise cannot(f"the probed layers {layers} do not include both early and last layers")
    live = _alive(grads, last)
    curves = grads[live].mean(axis=0)
    mean = curves.mean(axis=0)
    ratio = mean[~last].max() / mean[last].min() if (curves[:, last] > 0).all() else math.inf
    return Finding(
        _decades(ratio, th),
        f"early/last ratio {ratio:.2g} over {int(live.sum())} live of {len(grads)} seeds"
        + ("" if math.isfinite(ratio) else " (a last layer is exactly 0 in some epoch)"),
        {"early_to_last_ratio": ratio, "live_seeds": int(live.sum())},
        note=_note(facts, "plain"),
    )


@claim(
    "plain_not_dead_units",
    "1.2.5",
    f"The plain network's early layers vanish for lack of gradient, not for dead units: at the end under "
    f"{DEAD_SHARE:.0%} of their units are dead on average, and no early layer is entirely dead.",
    "In Figure 13 we can see a vanishing gradient",
    over=PROBE,
)
def plain_not_dead_units(facts: dict, th) -> Finding:
    """The explanation, from the dead-unit fractions. Effect: DEAD_SHARE minus the early layers' mean dead fraction at
    the end. An early layer dead in every seed: does not hold (dead units explain its zero gradient). Collapsed:
    judged, the verdict says so. Missing probe: cannot be judged."""
    depth = int(get(facts, "probe", "depth"))
    layers, _, dead = _probe(facts, "plain")
    early = dead[:, -1, [layer < depth - LAST_LAYERS_SPAN for layer in layers]].mean(axis=0)
    if not len(early):
        raise cannot(f"the probed layers {layers} include no early layer")
    return Finding(
        th.DEAD_SHARE - early.mean(),
        "dead fraction at the end, early layers: "
        + ", ".join(
            f"layer {layer}: {fmt(f)}" for layer, f in zip([x for x in layers if x < depth - LAST_LAYERS_SPAN], early)
        ),
        {"early_dead_fraction": early.mean(), "most_dead_layer_fraction": early.max()},
        note=_note(facts, "plain"),
    )


@claim(
    "residual_alive",
    "1.2.5",
    "The residual network keeps every probed layer alive: averaged over the live seeds, every layer's squared "
    f"gradient norm is non-zero in every epoch, its mean at least {GRADIENT_RATIO:g}x that of the probed layer "
    "nearest the output.",
    "Make our network a ResNet (i.e. with residual layers)",
    over=PROBE,
)
def residual_alive(facts: dict, th) -> Finding:
    """Effect: decades above GRADIENT_RATIO. A layer exactly 0 in any epoch is not alive; most seeds all-zero: does
    not hold ('the network is dead'); most seeds collapsed: does not hold (the cure should learn). The reference is
    the layer nearest the output, where backpropagation starts: layer 0's weight gradient is scaled by the raw,
    unnormalised longitude/latitude inputs (up to 70 in size) and dwarfs every other layer in both variants, so it
    says nothing about fading. Missing: cannot be judged."""
    layers, grads, _ = _probe(facts, "residual")
    _refuse_collapsed(facts, "residual")
    curves = grads[_alive(grads, np.ones(len(layers), bool))].mean(axis=0)
    if (curves <= 0).any():
        epoch, layer = np.argwhere(curves <= 0)[0]
        raise fails(f"layer {layers[layer]} is exactly 0 from epoch {epoch + 1}")
    mean = curves.mean(axis=0)
    ratio = mean.min() / mean[int(np.argmax(layers))]
    return Finding(-_decades(ratio, th), f"smallest/last layer ratio {ratio:.2g}", {"smallest_to_last_ratio": ratio})


@claim(
    "residual_better_results",
    "1.2.5",
    "The residual network shows better results than the plain one at 100 layers: higher final validation accuracy.",
    "This method has been experimented and shows better results for deeper networks",
    over=PROBE,
)
def residual_better_results(facts: dict, th) -> Finding:
    """Effect: the accuracy difference (points). Residual collapsed in most seeds: does not hold; plain collapsed:
    judged (its failure is the course's point), and the verdict says so. Missing accuracies: cannot be judged."""
    acc = {}
    for variant in ("residual", "plain"):
        values = [np.nan if v is None else v for v in get(facts, "probe", variant, "final_validation_acc")]
        if not np.isfinite(values).any():
            raise cannot(f"probe.{variant} has no finite final validation accuracy")
        acc[variant] = float(np.nanmean(values))
    _refuse_collapsed(facts, "residual")
    return Finding(
        acc["residual"] - acc["plain"],
        f"final validation accuracy: residual {fmt(acc['residual'])}, plain {fmt(acc['plain'])}",
        {"residual_validation_acc": acc["residual"], "plain_validation_acc": acc["plain"]},
        note=_note(facts, "plain"),
    )
