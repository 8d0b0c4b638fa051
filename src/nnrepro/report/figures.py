"""Every figure, as a function of the tracked results read back by `readback` (never of training code).

Each figure function takes plain data, saves one PNG and returns the Figure (tests inspect it)."""

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from nnrepro import io
from nnrepro.report.claims.cnn import CHANCE

MISCLASSIFIED_SHOWN = 48  # misclassified test images drawn (and listed in the report) per model
# Train, validation and test lines of one run overlap late in training: each gets its own dash and marker.
SPLIT_STYLES: dict[str, dict[str, Any]] = {
    "train": {"linestyle": "-"},
    "validation": {"linestyle": "--", "marker": "o", "markersize": 3},
    "test": {"linestyle": ":", "marker": "s", "markersize": 3, "markerfacecolor": "none"},
}


def _listed(name: str) -> list:
    """The colours of one of matplotlib's listed colormaps (typed as a union that includes a single colour)."""
    return list(cast(Sequence, cast(ListedColormap, colormaps[name]).colors))


def series_colors(count: int) -> list:
    """Distinct colours for up to 40 series: tab20, then tab20b."""
    palette = _listed("tab20") + _listed("tab20b")
    return [palette[(2 * i) % 20 + (i // 10) % 2] if count <= 20 else palette[i % 40] for i in range(count)]


def class_colormap(num_classes: int) -> ListedColormap:
    return ListedColormap(series_colors(num_classes))


def save(fig: Figure, path, dpi: int) -> None:
    """PNG without a timestamp or version in its metadata, written atomically."""
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})


def _axes(ncols: int = 1, nrows: int = 1, size=(7, 4.5), **kw):
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kw).ravel()


def _label(ax, title: str, xlabel: str, ylabel: str, legend: bool = True) -> None:
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=8)


def _points(run: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(epoch, value) of one history column, steps without a value left out (a diverged run ends early)."""
    pairs = [(e, v) for e, v in zip(run["epoch"], run.get(key, [])) if e is not None and v is not None]
    return np.array([p[0] for p in pairs], dtype=float), np.array([p[1] for p in pairs], dtype=float)


def _run_line(ax, x, y, color, label: str, diverged: bool, **style) -> None:
    """A diverged run is dashed, labelled as such, and marked with an x where it stopped."""
    if diverged:
        ax.plot(x, y, color=color, label=f"{label} (diverged)", **{**style, "linestyle": "--"})
        if len(x):
            ax.plot(x[-1:], y[-1:], color=color, marker="x", markersize=9, linestyle="none")
    else:
        ax.plot(x, y, color=color, label=label, **style)


def _band(ax, run: dict, key: str, color) -> None:
    """The replicates' min-max range of `key` around the mean line, where a run has two or more seeds."""
    curves = [_points(rep, key) for rep in run.get("replicates", [])]
    n = min((len(x) for x, _ in curves), default=0)
    if len(curves) >= 2 and n:
        values = np.array([y[:n] for _, y in curves])
        ax.fill_between(curves[0][0][:n], values.min(0), values.max(0), color=color, alpha=0.15, linewidth=0)


def _curve(ax, run: dict, key: str, color, label: str, **style) -> tuple[np.ndarray, np.ndarray]:
    """A run's mean over its seeds as a line, their min-max as a band; the line's points."""
    x, y = _points(run, key)
    _run_line(ax, x, y, color, label, run["diverged"], **style)
    _band(ax, run, key, color)
    return x, y


# ------------------------------------------------------------------ the report's figures


def lr_sweep(runs: dict, title: str, path, dpi: int) -> Figure:
    """Validation loss per epoch, one line per learning rate; log scale, so a spike does not flatten the rest."""
    fig, (ax,) = _axes()
    for color, (lr, run) in zip(series_colors(len(runs)), runs.items()):
        _curve(ax, run, "validation_loss", color, f"lr={lr:g}")
    ax.set_yscale("log")
    _label(ax, title, "epoch", "validation cross-entropy loss (log scale)")
    save(fig, path, dpi)
    return fig


def split_losses(run: dict, title: str, path, dpi: int) -> Figure:
    """Train, validation and test loss of one run per epoch, each split with its own dash and marker."""
    fig, (ax,) = _axes()
    for color, split in zip(series_colors(3), SPLIT_STYLES):
        _curve(ax, run, f"{split}_loss", color, split, **SPLIT_STYLES[split])
    _label(ax, title, "epoch", "cross-entropy loss")
    save(fig, path, dpi)
    return fig


def batch_pairs(pairs: dict, key: str, ylabel: str, title: str, path, dpi: int) -> Figure:
    """One line per (batch size, epochs) pair on a log epoch axis; every pair is evaluated inside its first epoch,
    so the initial accuracies sit side by side at the left."""
    fig, (ax,) = _axes()
    for color, run in zip(series_colors(len(pairs)), pairs.values()):
        x, y = _curve(
            ax, run, key, color, f"batch {run['batch_size']}, {run['epochs']} epoch(s)", marker="o", markersize=3
        )
        if len(x):
            ax.plot(x[:1], y[:1], color=color, marker="D", markersize=7, linestyle="none")
    ax.set_xscale("log")
    _label(ax, title + " (diamond: first evaluation)", "epoch (log scale)", ylabel)
    save(fig, path, dpi)
    return fig


def _seed_span(row: dict, key: str) -> tuple:
    """(min, max) of `key` over a grid cell's replicates; (nan, nan) with fewer than two seeds holding a value."""
    values = [r[key] for r in row.get("replicates") or [] if r.get(key) is not None]
    return (min(values), max(values)) if len(values) >= 2 else (np.nan, np.nan)


def accuracy_slice(rows: list, axis: str, fixed: str, title: str, path, dpi: int) -> Figure:
    """Final train, validation and test accuracy against depth or width, the other held at `fixed`: each cell's mean
    over its seeds as a line, their min-max as a band."""
    fig, (ax,) = _axes()
    rows = sorted(rows, key=lambda r: r[axis])
    x = [r[axis] for r in rows]
    for color, split in zip(series_colors(3), SPLIT_STYLES):
        key = f"final_{split}_acc"
        y = [np.nan if r[key] is None else r[key] for r in rows]
        style = {**SPLIT_STYLES[split], "marker": SPLIT_STYLES[split].get("marker", "o")}
        ax.plot(x, y, color=color, label=split, **style)
        low, high = np.array([_seed_span(r, key) for r in rows]).reshape(-1, 2).T
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, color=color, alpha=0.15, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [str(v) for v in x])
    _label(ax, f"{title} ({fixed})", axis, "final accuracy")
    save(fig, path, dpi)
    return fig


def gradient_floor(values: list[np.ndarray]) -> float:
    """Where exact zeros are drawn on the log axis: a decade below the smallest positive value."""
    positive = [v[v > 0].min() for v in values if (v > 0).any()]
    return 10.0 ** (np.floor(np.log10(min(positive))) - 1) if positive else 1e-12


def _seed_array(curve: dict, key: str) -> np.ndarray:
    """[seed, epoch, layer], runs cut to the shortest (a diverged seed stops early)."""
    epochs = min(len(seed) for seed in curve[key])
    return np.array([seed[:epochs] for seed in curve[key]], dtype=float)


def gradients(probe: dict, path, dpi: int) -> Figure:
    """Per probed layer, the median over seeds of the squared gradient norm with its min-max band (top), and the
    median fraction of dead units (bottom); plain beside residual.

    Exact zeros cannot sit on a log axis: they are drawn on a dotted floor line and the legend counts them.
    """
    variants = ("plain", "residual")
    grads = {v: _seed_array(probe[v], "grad_sq_norm") for v in variants}
    floor = gradient_floor([g.ravel() for g in grads.values()])
    fig, axes = _axes(2, 2, size=(6.5, 4.2))
    for col, variant in enumerate(variants):
        top, bottom, curve = axes[col], axes[2 + col], probe[variant]
        dead = _seed_array(curve, "dead_fraction")
        epochs = np.arange(1, grads[variant].shape[1] + 1)
        for color, (i, layer) in zip(series_colors(len(curve["layers"])), enumerate(curve["layers"])):
            values = grads[variant][:, :, i]
            zeros = int((values <= 0).sum())
            median = np.median(values, axis=0)
            label = f"layer {layer}" + (f" ({zeros} of {values.size} values exactly 0)" if zeros else "")
            top.fill_between(
                epochs,
                np.maximum(values.min(0), floor),
                np.maximum(values.max(0), floor),
                color=color,
                alpha=0.2,
                linewidth=0,
            )
            top.plot(epochs, np.maximum(median, floor), color=color, marker="o", markersize=3, label=label)
            bottom.plot(
                epochs, np.median(dead[:, :, i], axis=0), color=color, marker="o", markersize=3, label=f"layer {layer}"
            )
        top.axhline(floor, color="gray", linestyle=":", linewidth=1)
        top.set_yscale("log")
        seeds = len(curve["seeds"])
        _label(
            top,
            f"Fig. 13 {variant}: median of {seeds} seeds, band min-max",
            "epoch",
            "squared L2 norm of the weight gradient",
        )
        bottom.set_ylim(-0.05, 1.05)
        _label(
            bottom,
            f"{variant}: fraction of dead ReLU units (median of {seeds} seeds)",
            "epoch",
            "units zero on every sampled input",
        )
    axes[0].annotate(
        f"dotted line: exactly 0 (drawn at {floor:.0e})",
        (0.01, 0.01),
        xycoords="axes fraction",
        fontsize=7,
        color="gray",
    )
    save(fig, path, dpi)
    return fig


def _seed_range(ax, by_lr: dict, lrs: list, color) -> None:
    """The min-max test accuracy over the seeds of cells run over seeds (the linear probe's), as a band."""
    spans = [[r["test_acc"] for r in by_lr[lr].get("replicates", []) if r.get("test_acc") is not None] for lr in lrs]
    if all(len(span) >= 2 for span in spans):
        ax.fill_between(lrs, [min(s) for s in spans], [max(s) for s in spans], color=color, alpha=0.15, linewidth=0)


def cnn_accuracy(cells: dict, xgboost: dict, path, dpi: int) -> Figure:
    """Test accuracy per learning rate, one line per CNN baseline (cells over seeds: their mean, and their min-max as a
    band); XGBoost and chance as reference lines."""
    fig, (ax,) = _axes()
    for color, (baseline, by_lr) in zip(series_colors(len(cells)), cells.items()):
        lrs = sorted(by_lr)
        acc = [np.nan if by_lr[lr]["test_acc"] is None else by_lr[lr]["test_acc"] for lr in lrs]
        ax.plot(lrs, acc, color=color, marker="o", label=baseline)
        _seed_range(ax, by_lr, lrs, color)
        bad = [lr for lr in lrs if by_lr[lr]["diverged"]]
        ax.plot(bad, [CHANCE] * len(bad), color=color, marker="x", markersize=10, linestyle="none")
    ax.axhline(xgboost["test_acc"], color="black", linestyle="--", label="XGBoost")
    ax.axhline(CHANCE, color="gray", linestyle=":", label="chance")
    ax.set_xscale("log")
    _label(ax, "Fig. 14 CNN test accuracy per learning rate", "Adam learning rate", "test accuracy")
    save(fig, path, dpi)
    return fig


def heatmap(
    values: np.ndarray, rows: list, cols: list, title: str, row_label: str, col_label: str, path, dpi: int
) -> Figure:
    fig = Figure(figsize=(1.2 * len(cols) + 2, 0.8 * len(rows) + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set(
        xticks=range(len(cols)),
        xticklabels=cols,
        yticks=range(len(rows)),
        yticklabels=rows,
        xlabel=col_label,
        ylabel=row_label,
        title=title,
    )
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, "—" if np.isnan(value) else f"{value:.3f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(image, ax=ax)
    save(fig, path, dpi)
    return fig


def draw_boundary(ax, mesh: dict, points: tuple, outlines: dict, title: str) -> None:
    """A model's argmax over the mesh, test points on top (same colours), country outlines drawn over it."""
    classes = len(outlines)  # one outline per country, in label order
    cmap, scale = class_colormap(classes), {"vmin": -0.5, "vmax": classes - 0.5}
    lon, lat = mesh["lon"], mesh["lat"]
    ax.imshow(
        mesh["labels"],
        origin="lower",
        extent=(lon[0], lon[-1], lat[0], lat[-1]),
        cmap=cmap,
        **scale,
        alpha=0.55,
        interpolation="nearest",
        aspect="auto",
    )
    x, y = np.asarray(points[0], dtype=float), np.asarray(points[1])
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap=cmap, **scale, s=2, linewidths=0)
    for rings in outlines.values():
        for ring in rings:
            ring = np.asarray(ring)
            ax.plot(ring[:, 0], ring[:, 1], color="black", linewidth=0.5)
    ax.set(xlim=(lon[0], lon[-1]), ylim=(lat[0], lat[-1]), xlabel="longitude", ylabel="latitude", title=title)


def boundaries(maps: dict, europe: dict, path, dpi: int) -> Figure:
    """Decision boundaries side by side: {title: mesh}."""
    fig, axes = _axes(len(maps), size=(7, 6.5))
    for ax, (title, mesh) in zip(axes, maps.items()):
        draw_boundary(ax, mesh, europe["points"], europe["outlines"], title)
    save(fig, path, dpi)
    return fig


def power_spectrum(images) -> np.ndarray:
    """Mean log10 power spectrum (centred) of uint8 images [n, 3, S, S], on their grey level."""
    grey = np.asarray(images, dtype=np.float64).mean(1)
    grey -= grey.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey), axes=(1, 2))) ** 2
    return np.log10(power.mean(0) + 1e-12)


def radial_profile(spectrum: np.ndarray) -> np.ndarray:
    """Mean of a centred spectrum over rings of equal spatial frequency."""
    side = spectrum.shape[0]
    yy, xx = np.indices(spectrum.shape)
    radius = np.hypot(yy - side // 2, xx - side // 2).astype(int)
    return np.bincount(radius.ravel(), spectrum.ravel()) / np.bincount(radius.ravel())


def faces_samples(split: dict, path, dpi: int, per_class: int = 6) -> Figure:
    """Sample images of each class with file names, their mean power spectra and radial profiles."""
    labels, images = np.asarray(split["labels"]), np.asarray(split["images"])
    fig = Figure(figsize=(2 * per_class, 8.5))
    grid = fig.add_gridspec(3, per_class)
    spectra = {}
    for row, (label, name) in enumerate(((0, "real"), (1, "fake"))):
        index = np.flatnonzero(labels == label)
        for col, i in enumerate(index[:per_class]):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(images[i].transpose(1, 2, 0))
            ax.set_title(f"{name}\n{split['names'][i].split('/')[-1]}", fontsize=7)
            ax.axis("off")
        spectra[name] = power_spectrum(images[index])
    third = max(1, per_class // 3)
    for k, (name, spectrum) in enumerate(spectra.items()):
        ax = fig.add_subplot(grid[2, k * third : (k + 1) * third])
        ax.imshow(spectrum, cmap="magma")
        ax.set_title(f"mean log10 power spectrum: {name}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[2, 2 * third :])
    for color, (name, spectrum) in zip(series_colors(2), spectra.items()):
        ax.plot(radial_profile(spectrum), color=color, label=name)
    _label(ax, "radial profile", "spatial frequency (cycles per image)", "log10 power")
    fig.suptitle("faces data: samples of each class and what separates them in frequency")
    save(fig, path, dpi)
    return fig


def misclassified(wrong: dict, split: dict, title: str, path, dpi: int, limit: int = MISCLASSIFIED_SHOWN) -> Figure:
    """A grid of the model's misclassified test images with their file names (wrong: selection's entry)."""
    index = {name: i for i, name in enumerate(split["names"])}
    shown, cols = wrong["images"][:limit], 8
    rows = max(1, math.ceil(len(shown) / cols))
    fig, axes = _axes(cols, rows, size=(1.6, 1.8))
    for ax in axes:
        ax.axis("off")
    for ax, image in zip(axes, shown):
        ax.imshow(np.asarray(split["images"][index[image["name"]]]).transpose(1, 2, 0))
        ax.set_title(
            f"{Path(image['name']).name}\n{'fake' if image['label'] else 'real'}, p={image['probability']:.2f}",
            fontsize=6,
        )
    more = f" (first {limit} shown)" if len(wrong["images"]) > limit else ""
    fig.suptitle(
        f"{title}: {len(wrong['images'])} of {len(split['names'])} test images misclassified{more}", fontsize=9
    )
    save(fig, path, dpi)
    return fig


FOREST_LINEAR = 5.0  # the forest plot's x axis is linear within 5 noise units of the margin, logarithmic beyond
VERDICT_COLORS = {"holds": "tab:green", "does not hold": "tab:red", "cannot be judged": "tab:gray"}


def _in_noise_units(claim: dict) -> tuple | None:
    """(mean, low, high) of a claim's effect minus its margin, in units of its noise; None without a noise."""
    if claim.get("noise") in (None, 0) or claim.get("interval") is None:
        return None
    noise, margin = claim["noise"], claim["margin"] or 0.0
    low, high = claim["interval"]
    return (claim["effect"] - margin) / noise, (low - margin) / noise, (high - margin) / noise


def verdict_forest(claims: dict, path, dpi: int) -> Figure:
    """Every claim's mean effect minus its margin in units of its noise, with its 95% interval, coloured by verdict
    and grouped by section (claims without a noise: a hollow marker at 0); right of 0 is the course's direction."""
    order = list(dict.fromkeys(c["section"] for c in claims.values()))  # sections as the report meets them
    rows = sorted(claims.items(), key=lambda item: order.index(item[1]["section"]))  # stable within a section
    fig, (ax,) = _axes(size=(8, 0.9 + 0.24 * (len(rows) + len({c["section"] for _, c in rows}))))
    y, ticks, names, last = 0.0, [], [], None
    for cid, claim in rows:
        if claim["section"] != last:
            y -= 1.0  # a gap before each section, labelled at its right
            ax.text(0.01, y, claim["section"], transform=ax.get_yaxis_transform(), fontsize=7, va="center")
            last = claim["section"]
        y -= 1.0
        color = VERDICT_COLORS[claim["verdict"]]
        point = _in_noise_units(claim)
        if point is None:
            ax.plot([0], [y], marker="o", markerfacecolor="none", color=color, linestyle="none")
        else:
            ax.plot([point[1], point[2]], [y, y], color=color, linewidth=1.5)
            ax.plot([point[0]], [y], marker="o", color=color, linestyle="none")
        ticks.append(y)
        names.append(cid)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=FOREST_LINEAR)  # intervals near 0 readable beside effects of 1000 noises
    ax.set_yticks(ticks, names, fontsize=6)
    for verdict, color in VERDICT_COLORS.items():
        ax.plot([], [], color=color, marker="o", label=verdict)
    xlabel = "mean effect minus margin, in units of its noise (95% interval)"
    _label(ax, "Verdicts: every claim's effect, grouped by section", xlabel, "")
    save(fig, path, dpi)
    return fig


CAPTIONS = {
    "fig01_lr_sweep": "Fig. 1: validation loss per epoch for each learning rate, without BatchNorm (log scale)",
    "fig02_long_run": "Fig. 2: train, validation and test loss over the long run",
    "fig03_lr_sweep_batchnorm": "Fig. 3: validation loss per epoch for each learning rate, with BatchNorm (log scale)",
    "fig04_long_run_batchnorm": "Fig. 4: train, validation and test loss over the long run, with BatchNorm",
    "fig05_batch_test_accuracy": "Fig. 5: test accuracy for each (batch size, epochs) pair",
    "fig06_batch_test_loss": "Fig. 6: test loss for each (batch size, epochs) pair",
    "fig07_best_grid_loss": "Fig. 7: loss curves of the best model",
    "fig08_best_grid_boundary": "Fig. 8: decision boundary of the best model over the map",
    "fig09_worst_grid_loss": "Fig. 9: loss curves of the worst model",
    "fig10_worst_grid_boundary": "Fig. 10: decision boundary of the worst model over the map",
    "fig11_acc_vs_depth": "Fig. 11: final train, validation and test accuracy against depth (band: min-max over seeds)",
    "fig12_acc_vs_width": "Fig. 12: final train, validation and test accuracy against width (band: min-max over seeds)",
    "fig13_gradients": "Fig. 13: squared gradient norm and dead units per probed layer, plain and residual, over seeds",
    "fig14_cnn_lr": "Fig. 14: CNN test accuracy per learning rate and baseline, XGBoost as reference",
    "fig15_grid_heatmap": "Extra: validation accuracy over the whole depth x width grid",
    "fig16_sine_boundaries": "Extra: decision boundaries with raw longitude/latitude and with sine features",
    "fig17_faces_samples": "Extra: sample images of each class and their mean power spectra",
    "fig18_verdicts": "Verdicts: the mean effect of each claim minus its margin in units of its noise, with its 95% "
    "interval, coloured by verdict (green holds, red does not hold, grey cannot be judged), grouped by section",
    "misclassified_best": "Misclassified test images of the best model (best cell of the best baseline)",
    "misclassified_worst": "Misclassified test images of the worst model (best cell of the worst baseline)",
}


def render_all(data: dict, out_dir, dpi: int) -> dict:
    """Every figure of CAPTIONS (see stages/figures.py for `data`); returns name -> Figure."""
    png = {name: Path(out_dir) / f"{name}.png" for name in CAPTIONS}
    facts, grid, europe = data["facts"], data["facts"]["grid"], data["europe"]
    sweep, long, pairs = facts["lr_sweep"], facts["long"], facts["batch"]
    figs = {
        "fig01_lr_sweep": lr_sweep(sweep["plain"], "Fig. 1 learning-rate sweep", png["fig01_lr_sweep"], dpi),
        "fig03_lr_sweep_batchnorm": lr_sweep(
            sweep["batchnorm"], "Fig. 3 learning-rate sweep, BatchNorm", png["fig03_lr_sweep_batchnorm"], dpi
        ),
        "fig02_long_run": split_losses(long["plain"], "Fig. 2 long run", png["fig02_long_run"], dpi),
        "fig04_long_run_batchnorm": split_losses(
            long["batchnorm"], "Fig. 4 long run, BatchNorm", png["fig04_long_run_batchnorm"], dpi
        ),
        "fig05_batch_test_accuracy": batch_pairs(
            pairs, "test_acc", "test accuracy", "Fig. 5 batch size", png["fig05_batch_test_accuracy"], dpi
        ),
        "fig06_batch_test_loss": batch_pairs(
            pairs, "test_loss", "test cross-entropy loss", "Fig. 6 batch size", png["fig06_batch_test_loss"], dpi
        ),
    }
    for rank, number in (("best", 7), ("worst", 9)):
        title = f"Fig. {number} {rank} model {grid[rank]} (from the {grid['select_from']} cells)"
        figs[f"fig{number:02d}_{rank}_grid_loss"] = split_losses(
            grid[f"{rank}_history"], title, png[f"fig{number:02d}_{rank}_grid_loss"], dpi
        )
        name = f"fig{number + 1:02d}_{rank}_grid_boundary"
        figs[name] = boundaries(
            {f"Fig. {number + 1} {rank} model {grid[rank]}": data["boundaries"][rank]}, europe, png[name], dpi
        )
    cells = list(grid["cells"].values())
    for axis, other, name in (("depth", "width", "fig11_acc_vs_depth"), ("width", "depth", "fig12_acc_vs_width")):
        fixed = grid[f"{axis}_slice_{other}"]
        figs[name] = accuracy_slice(
            [c for c in cells if c[other] == fixed],
            axis,
            f"{other} {fixed}",
            f"Fig. {name[3:5]} accuracy against {axis}",
            png[name],
            dpi,
        )
    figs["fig13_gradients"] = gradients(facts["probe"], png["fig13_gradients"], dpi)
    figs["fig14_cnn_lr"] = cnn_accuracy(facts["cnn"]["cells"], facts["cnn"]["xgboost"], png["fig14_cnn_lr"], dpi)
    depths, widths = sorted({c["depth"] for c in cells}), sorted({c["width"] for c in cells})
    table = {(c["depth"], c["width"]): c["final_validation_acc"] for c in cells}
    values = np.array([[np.nan if table.get((d, w)) is None else table[(d, w)] for w in widths] for d in depths])
    figs["fig15_grid_heatmap"] = heatmap(
        values, depths, widths, "validation accuracy over the grid", "depth", "width", png["fig15_grid_heatmap"], dpi
    )
    sine = {
        f"{name} features (test accuracy {_fmt(data['sine'][name].get('final_test_acc'))})": data["boundaries"][name]
        for name in ("xy", "sine")
    }
    figs["fig16_sine_boundaries"] = boundaries(sine, europe, png["fig16_sine_boundaries"], dpi)
    figs["fig17_faces_samples"] = faces_samples(data["faces"], png["fig17_faces_samples"], dpi=dpi)
    figs["fig18_verdicts"] = verdict_forest(data["claims"], png["fig18_verdicts"], dpi)
    for rank, wrong in facts["cnn"]["selection"]["misclassified"].items():
        figs[f"misclassified_{rank}"] = misclassified(
            wrong, data["faces"], f"{wrong['cell']} ({rank} model)", png[f"misclassified_{rank}"], dpi=dpi
        )
    return figs


def _fmt(value) -> str:
    return "diverged" if value is None else f"{value:.3f}"
