"""The course report's claims, each a pure check over metrics and histories: {claim, holds, evidence}."""

import numpy as np
import pandas as pd

from nnrepro import cnn_table

STALL_IMPROVEMENT = 0.10  # a run "stalls" when its validation loss never falls 10% below its first value
VANISHING_RATIO = 1e-3    # an early layer's squared gradient norm below 1e-3 x the largest probed layer's vanishes
SMALL_LR = 1e-3           # "small" learning rate for the CNN claims: at most this
LARGE_LR = 1e-2           # "large" learning rate: at least this
NEAR_CHANCE = 0.10        # "near chance": test accuracy within 0.10 of 0.5 (balanced real/fake classes)


def _result(claim: str, holds: bool, evidence: str) -> dict:
    return {"claim": claim, "holds": bool(holds), "evidence": evidence}


def _val_loss(run: dict) -> np.ndarray:
    return run["history"]["validation/loss"].dropna().to_numpy(float)


def _stalls(run: dict) -> tuple[bool, str]:
    loss = _val_loss(run)
    if run["metrics"].get("diverged") or len(loss) == 0:
        return True, f"diverged after {run['metrics'].get('epochs_run')} epochs"
    drop = 1 - loss.min() / loss[0]
    return drop < STALL_IMPROVEMENT, (f"validation loss {loss[0]:.3f} -> best {loss.min():.3f} "
                                      f"({drop:.1%} lower), final accuracy {run['metrics']['final_validation_acc']:.3f}")


def largest_lr_stalls(sweep: dict) -> dict:
    """sweep: lr -> {'metrics', 'history'} (mlp_lr without BatchNorm)."""
    lr = max(sweep)
    stalls, detail = _stalls(sweep[lr])
    return _result(f"the largest learning rate ({lr:g}) stalls: its validation loss does not fall "
                   f"(by {STALL_IMPROVEMENT:.0%} or more) over the run", stalls, f"lr={lr:g}: {detail}")


def smallest_lr_descends_slowly(sweep: dict) -> dict:
    """It descends (last < first) but its mean validation loss is the highest of the runs that did not stall."""
    lr = min(sweep)
    loss = _val_loss(sweep[lr])
    moving = {r: _val_loss(run).mean() for r, run in sweep.items() if r != lr and not _stalls(run)[0]}
    descends = len(loss) > 1 and loss[-1] < loss[0]
    slowest = descends and all(loss.mean() > m for m in moving.values())
    others = ", ".join(f"lr={r:g}: {m:.3f}" for r, m in sorted(moving.items()))
    return _result(f"the smallest learning rate ({lr:g}) descends, but more slowly than the larger ones "
                   "(highest mean validation loss over the run among those that learn)", slowest,
                   f"lr={lr:g}: {loss[0]:.3f} -> {loss[-1]:.3f}, mean {loss.mean():.3f}; others' means: {others or 'none'}")


def excess_variation(values) -> float:
    """Total variation beyond the net change: 0 for a monotone curve, grows with every wiggle."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.abs(np.diff(values)).sum() - abs(values[-1] - values[0])) if len(values) > 1 else 0.0


def batchnorm_steadier(sweep: dict, long: dict) -> dict:
    """sweep: batchnorm -> lr -> run; long: {'plain', 'batchnorm'} runs. Holds when BatchNorm wiggles less in
    most comparisons (the long run and every lr where neither run diverged)."""
    pairs = {"long run": (long["plain"], long["batchnorm"])}
    for lr in sorted(sweep[False]):
        if lr in sweep[True]:
            pairs[f"lr={lr:g}"] = (sweep[False][lr], sweep[True][lr])
    wins, parts = 0, []
    for name, (plain, bn) in pairs.items():
        if plain["metrics"].get("diverged") or bn["metrics"].get("diverged"):
            parts.append(f"{name}: skipped (diverged)")
            continue
        tv_plain, tv_bn = excess_variation(_val_loss(plain)), excess_variation(_val_loss(bn))
        wins += tv_bn < tv_plain
        parts.append(f"{name}: {tv_plain:.3f} plain vs {tv_bn:.3f} BatchNorm")
    counted = sum("skipped" not in p for p in parts)
    return _result("BatchNorm makes the validation-loss curves steadier (less excess total variation)",
                   counted > 0 and wins > counted / 2,
                   f"BatchNorm steadier in {wins} of {counted}: " + "; ".join(parts))


def _one_epoch(pairs: dict) -> dict:
    return {run["metrics"]["batch_size"]: run for run in pairs.values() if run["metrics"]["epochs"] == 1}


def batch1_beats_batch16(pairs: dict) -> dict:
    """pairs: name -> {'metrics', ...} of mlp_batch; compares the one-epoch runs."""
    runs = _one_epoch(pairs)
    if len(runs) < 2:
        return _result("after one epoch batch 1 beats batch 16", False, "fewer than two one-epoch pairs")
    small, large = sorted(runs)[:2]
    acc = {b: runs[b]["metrics"]["final_test_acc"] for b in (small, large)}
    holds = None not in acc.values() and acc[small] > acc[large]
    return _result(f"after one epoch batch {small} beats batch {large} (test accuracy)", holds,
                   ", ".join(f"batch {b}: {_fmt(a)}" for b, a in acc.items()))


def _fmt(value) -> str:
    return "null (diverged)" if value is None else f"{value:.3f}"


def larger_batches_faster(pairs: dict) -> dict:
    """Seconds per epoch fall as the batch size grows."""
    seconds = {run["metrics"]["batch_size"]: run.get("seconds_per_epoch") for run in pairs.values()}
    order = [seconds[b] for b in sorted(seconds)]
    holds = None not in order and all(a > b for a, b in zip(order, order[1:]))
    return _result("larger batches take less time per epoch", holds,
                   ", ".join(f"batch {b}: {s:.3g} s" if s is not None else f"batch {b}: no timing"
                             for b, s in sorted(seconds.items())))


def depth1_worst(acc_vs_depth: pd.DataFrame, width: int) -> dict:
    """acc_vs_depth: columns depth, final_validation_acc, final_test_acc (the evaluate stage's slice)."""
    rows = acc_vs_depth.sort_values("depth")
    score = rows["final_validation_acc"].fillna(-1.0)
    worst = int(rows.loc[score.idxmin(), "depth"])
    evidence = ", ".join(f"depth {int(d)}: {v:.3f}" for d, v in zip(rows["depth"], rows["final_validation_acc"]))
    return _result(f"depth 1 is the worst depth (validation accuracy at width {width})",
                   worst == 1 and int(rows["depth"].min()) == 1, f"{evidence}; worst: depth {worst}")


def _vanishes(layers: dict, early: list) -> tuple[bool, str]:
    means = {layer: float(np.mean(values)) for layer, values in layers.items()}
    top = max(means.values())
    ratios = {layer: means[layer] / top if top > 0 else 0.0 for layer in early}
    text = ", ".join(f"layer {layer}: {means[layer]:.3g}" for layer in sorted(means))
    return all(r < VANISHING_RATIO for r in ratios.values()), f"mean over epochs {text}"


def vanishing_gradients(variants: dict, depth: int) -> dict:
    """variants: {'plain', 'residual'} -> layer -> per-epoch squared gradient norms. Early = first third."""
    early = [layer for layer in variants["plain"] if layer < depth / 3] or [min(variants["plain"])]
    plain, plain_text = _vanishes(variants["plain"], early)
    residual, residual_text = _vanishes(variants["residual"], early)
    zeros = sum(int((v == 0).sum()) for v in variants["plain"].values())
    dead = f" ({zeros} exactly-zero epoch values in the plain net: dead units)" if zeros else ""
    return _result(f"early layers ({', '.join(map(str, early))}) of the {depth}-layer plain network get vanishing "
                   f"gradients (< {VANISHING_RATIO:g} x the largest probed layer's), the residual variant's do not",
                   plain and not residual, f"plain: {plain_text}{dead}; residual: {residual_text}")


def _chosen(cells: pd.DataFrame) -> dict:
    return {b: picks["best"] for b, picks in cnn_table.select(cells).items()}


def _cnn_text(best: dict) -> str:
    return "; ".join(f"{b} best at lr={r['lr']:g} (val {r['val_accuracy']:.3f}, test {r['test_accuracy']:.3f})"
                     for b, r in best.items())


def finetune_best_at_small_lr(cells: pd.DataFrame) -> dict:
    """cells: one row per (baseline, lr) with val_accuracy, test_accuracy; each baseline's lr chosen on val."""
    best = _chosen(cells)
    tune = best.get("finetune")
    holds = (tune is not None and tune["lr"] <= SMALL_LR
             and all(tune["test_accuracy"] >= r["test_accuracy"] for r in best.values()))
    return _result(f"the fine-tuned model is the best CNN (test accuracy), at a small learning rate "
                   f"(<= {SMALL_LR:g})", holds, _cnn_text(best))


def probe_best_at_large_lr(cells: pd.DataFrame) -> dict:
    best = _chosen(cells)
    probe = best.get("probe")
    return _result(f"the linear probe does best at a large learning rate (>= {LARGE_LR:g})",
                   probe is not None and probe["lr"] >= LARGE_LR,
                   _cnn_text({"probe": probe}) if probe is not None else "no probe cells")


def scratch_near_chance(cells: pd.DataFrame) -> dict:
    rows = cells[cells["baseline"] == "scratch"]
    near = [abs(acc - 0.5) <= NEAR_CHANCE for acc in rows["test_accuracy"]]
    return _result(f"training from scratch is near chance after one epoch (test accuracy within {NEAR_CHANCE:g} "
                   "of 0.5 at every learning rate)", len(near) > 0 and all(near),
                   ", ".join(f"lr={lr:g}: {acc:.3f}" for lr, acc in zip(rows["lr"], rows["test_accuracy"])))


def check_all(data: dict) -> list[dict]:
    """Every claim, in the report's order, from the results loaded for the report (see stages/report.py)."""
    sweep, batch, cells = data["lr_sweep"], data["batch"], data["cnn"]["cells"]
    return [
        largest_lr_stalls(sweep[False]),
        smallest_lr_descends_slowly(sweep[False]),
        batchnorm_steadier(sweep, data["long"]),
        batch1_beats_batch16(batch),
        larger_batches_faster(batch),
        depth1_worst(data["evaluation"]["acc_vs_depth"], data["evaluation"]["summary"]["depth_slice_width"]),
        vanishing_gradients(data["gradients"], data["grad_depth"]),
        finetune_best_at_small_lr(cells),
        probe_best_at_large_lr(cells),
        scratch_near_chance(cells),
    ]
