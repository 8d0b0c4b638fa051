"""1.2.5 Gradient magnitudes: the plain 100-layer net's vanishing gradient, the residual net's cure."""

import numpy as np

from nnrepro.report.claims.core import cannot, claim, fails, get

# Thresholds: each a reading of the course's words, set before looking at any run of ours.
LAST_LAYERS_SPAN = 5       # "all the layers before the 95th" of 100 vanish: the last 5 layers keep a gradient
GRADIENT_RATIO = 1e-3      # squared norms: under 1e-3x the reference a layer has vanished ("y = 0"); at/above, alive
MOST_SEEDS = 0.5           # "most seeds": strictly more than half of them


def _probe(facts: dict, variant: str) -> tuple:
    """(layers, grads[seed, epoch, layer], dead[seed, epoch, layer]) with None as NaN; ragged: cannot be judged."""
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
        raise fails(f"the network is dead: {reasons[0]} in {n} of {n} seeds" if len(reasons) == 1
                     else f"the network is dead in {n} of {n} seeds: {'; '.join(reasons)}")
    if count[good] <= MOST_SEEDS * n < count[good] + count["unknown"]:
        raise cannot(f"{detail} (seeds with missing values could tip it)")
    return count[good] > MOST_SEEDS * n, detail


@claim("plain_vanishing", "1.2.5",
        f"The 100-layer plain network's gradient vanishes: in most seeds every probed layer before the last "
        f"{LAST_LAYERS_SPAN} has a mean squared gradient norm under {GRADIENT_RATIO:g}x that of each of the last "
        "layers, which stay non-zero in every epoch.")
def plain_vanishing(facts: dict, numbers: dict) -> tuple:
    """Dead seeds (all gradients 0, last layers 0, or a layer with dead fraction 1) are not vanishing; all seeds dead:
    does not hold ('the network is dead': the course saw non-zero layers 95 and 99). Early layers exactly 0 under live
    last layers count as vanished (a squared norm can underflow). Missing probe: cannot be judged."""
    depth = int(get(facts, "probe", "depth"))
    layers, grads, dead = _probe(facts, "plain")
    last = np.array([layer >= depth - LAST_LAYERS_SPAN for layer in layers])
    if last.all() or not last.any():
        raise cannot(f"the probed layers {layers} do not include both early and last layers")
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


@claim("residual_alive", "1.2.5",
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
