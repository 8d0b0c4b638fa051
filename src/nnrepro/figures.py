"""Every figure, as a function of metrics and histories (never of training)."""

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from nnrepro import io

DPI = 120


def series_colors(count: int) -> list:
    """Distinct colours for up to 40 series: tab20, then tab20b."""
    palette = list(colormaps["tab20"].colors) + list(colormaps["tab20b"].colors)
    return [palette[(2 * i) % 20 + (i // 10) % 2] if count <= 20 else palette[i % 40] for i in range(count)]


def class_colormap(num_classes: int) -> ListedColormap:
    return ListedColormap(series_colors(num_classes))


def save(fig: Figure, path, dpi: int = DPI) -> None:
    """PNG without a timestamp or version in its metadata, written atomically."""
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})


def curves(series: dict, title: str, xlabel: str, ylabel: str, path, logy: bool = False,
           styles: dict | None = None) -> Figure:
    """One line per series: {label: (x, y)}; NaN/None points are left out (a diverged run ends early)."""
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for color, (label, (x, y)) in zip(series_colors(len(series)), series.items()):
        ax.plot(x, np.asarray(y, dtype=float), label=label, color=color, **(styles or {}).get(label, {}))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2 if len(series) > 8 else 1)
    save(fig, path)
    return fig


def heatmap(values: np.ndarray, rows: list, cols: list, title: str, row_label: str, col_label: str, path,
            dpi: int = DPI) -> Figure:
    fig = Figure(figsize=(1.2 * len(cols) + 2, 0.8 * len(rows) + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set(xticks=range(len(cols)), xticklabels=cols, yticks=range(len(rows)), yticklabels=rows,
           xlabel=col_label, ylabel=row_label, title=title)
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, "—" if np.isnan(value) else f"{value:.3f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(image, ax=ax)
    save(fig, path, dpi)
    return fig


def boundary(mesh: dict, points: tuple, outlines: dict, title: str, path, dpi: int = DPI) -> Figure:
    """A model's argmax over the mesh, test points on top (same colours), country outlines drawn over it."""
    fig = Figure(figsize=(8, 7))
    draw_boundary(fig.add_subplot(), mesh, points, outlines, title)
    save(fig, path, dpi)
    return fig


def draw_boundary(ax, mesh: dict, points: tuple, outlines: dict, title: str) -> None:
    cmap = class_colormap(33)
    lon, lat = mesh["lon"], mesh["lat"]
    ax.imshow(mesh["labels"], origin="lower", extent=(lon[0], lon[-1], lat[0], lat[-1]), cmap=cmap,
              vmin=-0.5, vmax=32.5, alpha=0.55, interpolation="nearest", aspect="auto")
    x, y = points
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=32.5, s=2, linewidths=0)
    for rings in outlines.values():
        for ring in rings:
            ring = np.asarray(ring)
            ax.plot(ring[:, 0], ring[:, 1], color="black", linewidth=0.5)
    ax.set(xlim=(lon[0], lon[-1]), ylim=(lat[0], lat[-1]), xlabel="longitude", ylabel="latitude", title=title)


# ------------------------------------------------------------------ the report's figures (stage `figures`)
# Each takes metrics/histories as loaded by nnrepro.results, saves one PNG and returns the Figure for tests.

SPLIT_COLUMNS = {"train": "train/loss", "validation": "validation/loss", "test": "test/loss"}


def _axes(ncols: int = 1, size=(7, 4.5), **kw):
    fig = Figure(figsize=(size[0] * ncols, size[1]))
    return fig, fig.subplots(1, ncols, squeeze=False, **kw)[0]


def _label(ax, title: str, xlabel: str, ylabel: str, legend: bool = True) -> None:
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=8)


def _column(frame, column: str):
    rows = frame[["epoch", column]].dropna()
    return rows["epoch"].to_numpy(float), rows[column].to_numpy(float)


def _run_line(ax, x, y, color, label: str, diverged: bool) -> None:
    """A diverged run is dashed, labelled as such, and marked with an x where it stopped."""
    if diverged:
        ax.plot(x, y, color=color, linestyle="--", label=f"{label} (diverged)")
        if len(x):
            ax.plot(x[-1:], y[-1:], color=color, marker="x", markersize=9, linestyle="none")
    else:
        ax.plot(x, y, color=color, label=label)


def lr_sweep(runs: dict, title: str, path, dpi: int = DPI) -> Figure:
    """Validation loss per epoch, one line per learning rate ({lr: {'metrics', 'history'}})."""
    fig, (ax,) = _axes()
    for color, (lr, run) in zip(series_colors(len(runs)), runs.items()):
        _run_line(ax, *_column(run["history"], "validation/loss"), color, f"lr={lr:g}",
                  bool(run["metrics"].get("diverged")))
    _label(ax, title, "epoch", "validation cross-entropy loss")
    save(fig, path, dpi)
    return fig


def split_losses(history, title: str, path, diverged: bool = False, dpi: int = DPI) -> Figure:
    """Train, validation and test loss of one run per epoch."""
    fig, (ax,) = _axes()
    for color, (split, column) in zip(series_colors(3), SPLIT_COLUMNS.items()):
        _run_line(ax, *_column(history, column), color, split, diverged)
    _label(ax, title, "epoch", "cross-entropy loss")
    save(fig, path, dpi)
    return fig


def batch_pairs(pairs: dict, column: str, ylabel: str, title: str, path, dpi: int = DPI) -> Figure:
    """One line per (batch size, epochs) pair; one-epoch runs were evaluated several times inside the epoch."""
    fig, (ax,) = _axes()
    for color, run in zip(series_colors(len(pairs)), pairs.values()):
        m = run["metrics"]
        x, y = _column(run["history"], column)
        _run_line(ax, x, y, color, f"batch {m['batch_size']}, {m['epochs']} epoch(s)", bool(m.get("diverged")))
    ax.set_xscale("log")
    _label(ax, title, "epoch (log scale; fractions: evaluations inside the first epoch)", ylabel)
    save(fig, path, dpi)
    return fig


def accuracy_slice(frame, axis: str, fixed: str, title: str, path, dpi: int = DPI) -> Figure:
    """Final validation and test accuracy against depth or width, the other held at `fixed`."""
    fig, (ax,) = _axes()
    for color, split in zip(series_colors(2), ("validation", "test")):
        ax.plot(frame[axis], frame[f"final_{split}_acc"], color=color, marker="o", label=split)
    ax.set_xticks(list(frame[axis]))
    _label(ax, f"{title} ({fixed})", axis, "accuracy")
    save(fig, path, dpi)
    return fig


def gradient_floor(variants: dict) -> float:
    """Where exact zeros are drawn on the log axis: a decade below the smallest positive value."""
    positive = [v[v > 0].min() for layers in variants.values() for v in layers.values() if (v > 0).any()]
    return 10.0 ** (np.floor(np.log10(min(positive))) - 1) if positive else 1e-12


def gradients(variants: dict, title: str, path, dpi: int = DPI) -> Figure:
    """Squared gradient norm per epoch of each probed layer, one panel per variant, log scale.

    Exact zeros (dead ReLU units pass no gradient) cannot sit on a log axis: they are drawn as hollow markers
    on a dotted floor line, and the legend counts them.
    """
    floor = gradient_floor(variants)
    fig, axes = _axes(len(variants), size=(6, 4.5), sharey=True)
    for ax, (name, layers) in zip(axes, variants.items()):
        for color, (layer, values) in zip(series_colors(len(layers)), layers.items()):
            epochs = np.arange(1, len(values) + 1)
            zeros = values <= 0
            label = f"layer {layer}" + (f" ({zeros.sum()} of {len(values)} epochs exactly 0)" if zeros.any() else "")
            ax.plot(epochs, np.where(zeros, floor, values), color=color, marker="o", markersize=3, label=label)
            if zeros.any():
                ax.plot(epochs[zeros], np.full(zeros.sum(), floor), color=color, marker="o", markersize=8,
                        markerfacecolor="none", linestyle="none")
        ax.axhline(floor, color="gray", linestyle=":", linewidth=1)
        ax.set_yscale("log")
        _label(ax, f"{title}: {name}", "epoch", "squared L2 norm of the weight gradient")
    axes[0].annotate(f"dotted line: exactly 0 (drawn at {floor:.0e})", (0.01, 0.01), xycoords="axes fraction",
                     fontsize=7, color="gray")
    save(fig, path, dpi)
    return fig


def cnn_accuracy(cells, xgboost: dict, path, dpi: int = DPI) -> Figure:
    """Test accuracy per learning rate, one line per CNN baseline; XGBoost and chance as reference lines."""
    fig, (ax,) = _axes()
    baselines = list(dict.fromkeys(cells["baseline"]))
    for color, baseline in zip(series_colors(len(baselines)), baselines):
        rows = cells[cells["baseline"] == baseline].sort_values("lr")
        ax.plot(rows["lr"], rows["test_accuracy"], color=color, marker="o", label=baseline)
        bad = rows[rows["diverged"].fillna(False).astype(bool)]
        ax.plot(bad["lr"], bad["test_accuracy"], color=color, marker="x", markersize=10, linestyle="none")
    ax.axhline(xgboost["test_accuracy"], color="black", linestyle="--", label="XGBoost")
    ax.axhline(0.5, color="gray", linestyle=":", label="chance")
    ax.set_xscale("log")
    _label(ax, "CNN test accuracy per learning rate", "Adam learning rate", "test accuracy")
    save(fig, path, dpi)
    return fig


def boundaries(runs: dict, points: tuple, outlines: dict, title: str, path, dpi: int = DPI) -> Figure:
    """Decision boundaries side by side: {name: {'metrics', 'boundary'}}."""
    fig, axes = _axes(len(runs), size=(7, 6.5))
    for ax, (name, run) in zip(axes, runs.items()):
        acc = run["metrics"].get("final_test_acc")
        draw_boundary(ax, run["boundary"], points, outlines,
                      f"{title}: {name} (test accuracy {acc:.3f})" if acc is not None else f"{title}: {name}")
    save(fig, path, dpi)
    return fig


def seconds_per_epoch(pairs: dict, path, dpi: int = DPI) -> Figure:
    """Wall-clock seconds per epoch of each batch size (one bar each, log scale)."""
    fig, (ax,) = _axes()
    names = [f"batch {run['metrics']['batch_size']}" for run in pairs.values()]
    seconds = [run["seconds_per_epoch"] or np.nan for run in pairs.values()]
    bars = ax.bar(names, seconds, color=series_colors(len(names)))
    ax.bar_label(bars, fmt="%.3g s", fontsize=8)
    ax.set_yscale("log")
    _label(ax, "seconds per epoch by batch size", "batch size", "seconds per epoch (log scale)", legend=False)
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


def faces_samples(split: dict, path, per_class: int = 6, dpi: int = DPI) -> Figure:
    """Sample images of each class with file names, their mean power spectra and radial profiles."""
    labels = np.asarray(split["labels"])
    images = np.asarray(split["images"])
    classes = {0: "real", 1: "fake"}
    fig = Figure(figsize=(2 * per_class, 8.5))
    grid = fig.add_gridspec(3, per_class)
    spectra = {}
    for row, (label, name) in enumerate(classes.items()):
        index = np.flatnonzero(labels == label)
        for col, i in enumerate(index[:per_class]):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(images[i].transpose(1, 2, 0))
            ax.set_title(f"{name}\n{split['names'][i].split('/')[-1]}", fontsize=7)
            ax.axis("off")
        spectra[name] = power_spectrum(images[index])
    third = max(1, per_class // 3)
    for k, (name, spectrum) in enumerate(spectra.items()):
        ax = fig.add_subplot(grid[2, k * third:(k + 1) * third])
        ax.imshow(spectrum, cmap="magma")
        ax.set_title(f"mean log10 power spectrum: {name}", fontsize=8)
        ax.axis("off")
    ax = fig.add_subplot(grid[2, 2 * third:])
    for color, (name, spectrum) in zip(series_colors(2), spectra.items()):
        ax.plot(radial_profile(spectrum), color=color, label=name)
    _label(ax, "radial profile", "spatial frequency (cycles per image)", "log10 power")
    fig.suptitle("faces data: samples of each class and what separates them in frequency")
    save(fig, path, dpi)
    return fig


CAPTIONS = {
    "fig01_lr_sweep": "Fig. 1: validation loss per epoch for each learning rate, without BatchNorm",
    "fig02_long_run": "Fig. 2: train, validation and test loss over the long run",
    "fig03_lr_sweep_batchnorm": "Fig. 3: validation loss per epoch for each learning rate, with BatchNorm",
    "fig04_long_run_batchnorm": "Fig. 4: train, validation and test loss over the long run, with BatchNorm",
    "fig05_batch_test_accuracy": "Fig. 5: test accuracy for each (batch size, epochs) pair",
    "fig06_batch_test_loss": "Fig. 6: test loss for each (batch size, epochs) pair",
    "fig07_best_grid_loss": "Fig. 7: loss curves of the best depth x width model",
    "fig08_best_grid_boundary": "Fig. 8: decision boundary of the best model over the map",
    "fig09_worst_grid_loss": "Fig. 9: loss curves of the worst depth x width model",
    "fig10_worst_grid_boundary": "Fig. 10: decision boundary of the worst model over the map",
    "fig11_acc_vs_depth": "Fig. 11: final accuracy against depth",
    "fig12_acc_vs_width": "Fig. 12: final accuracy against width",
    "fig13_gradients": "Fig. 13: squared gradient norm per epoch of the probed layers, plain and residual",
    "fig14_cnn_lr": "Fig. 14: CNN test accuracy per learning rate and baseline, XGBoost as reference",
    "fig15_grid_heatmap": "Extra: validation accuracy over the whole depth x width grid",
    "fig16_sine_boundaries": "Extra: decision boundaries with raw longitude/latitude and with sine features",
    "fig17_batch_seconds": "Extra: seconds per epoch for each batch size",
    "fig18_faces_samples": "Extra: sample images of each class and their mean power spectra",
}


def render_all(data: dict, out_dir, dpi: int = DPI) -> dict:
    """Every figure of CAPTIONS from the loaded results (see stages/figures.py); returns name -> Figure."""
    out, ev = Path(out_dir), data["evaluation"]
    png = {name: out / f"{name}.png" for name in CAPTIONS}
    long, summary = data["long"], ev["summary"]
    figs = {
        "fig01_lr_sweep": lr_sweep(data["lr_sweep"][False], "Fig. 1 learning-rate sweep", png["fig01_lr_sweep"],
                                   dpi),
        "fig03_lr_sweep_batchnorm": lr_sweep(data["lr_sweep"][True], "Fig. 3 learning-rate sweep, BatchNorm",
                                             png["fig03_lr_sweep_batchnorm"], dpi),
    }
    for name, run, fig in (("plain", long["plain"], "fig02_long_run"),
                           ("BatchNorm", long["batchnorm"], "fig04_long_run_batchnorm")):
        figs[fig] = split_losses(run["history"], f"Fig. {fig[4]} long run ({name})", png[fig],
                                 bool(run["metrics"].get("diverged")), dpi)
    figs["fig05_batch_test_accuracy"] = batch_pairs(data["batch"], "test/acc", "test accuracy",
                                                    "Fig. 5 batch size: test accuracy",
                                                    png["fig05_batch_test_accuracy"], dpi)
    figs["fig06_batch_test_loss"] = batch_pairs(data["batch"], "test/loss", "test cross-entropy loss",
                                                "Fig. 6 batch size: test loss", png["fig06_batch_test_loss"], dpi)
    europe = data["europe"]
    for rank, loss_fig, map_fig in (("best", "fig07_best_grid_loss", "fig08_best_grid_boundary"),
                                    ("worst", "fig09_worst_grid_loss", "fig10_worst_grid_boundary")):
        cell = summary[f"{rank}_cell"]
        figs[loss_fig] = split_losses(ev[f"{rank}_history"], f"Fig. {int(loss_fig[3:5])} {rank} grid model {cell}",
                                      png[loss_fig], dpi=dpi)
        figs[map_fig] = boundary(ev[f"{rank}_boundary"], europe["points"], europe["outlines"],
                                 f"Fig. {int(map_fig[3:5])} {rank} grid model {cell}: decision boundary", png[map_fig],
                                 dpi)
    figs["fig11_acc_vs_depth"] = accuracy_slice(ev["acc_vs_depth"], "depth", f"width {summary['depth_slice_width']}",
                                                "Fig. 11 accuracy against depth", png["fig11_acc_vs_depth"], dpi)
    figs["fig12_acc_vs_width"] = accuracy_slice(ev["acc_vs_width"], "width", f"depth {summary['width_slice_depth']}",
                                                "Fig. 12 accuracy against width", png["fig12_acc_vs_width"], dpi)
    figs["fig13_gradients"] = gradients(data["gradients"], "Fig. 13", png["fig13_gradients"], dpi)
    figs["fig14_cnn_lr"] = cnn_accuracy(data["cnn"]["cells"], data["cnn"]["xgboost"], png["fig14_cnn_lr"], dpi)
    square = ev["grid"].pivot(index="depth", columns="width", values="final_validation_acc")
    figs["fig15_grid_heatmap"] = heatmap(square.to_numpy(float), list(square.index), list(square.columns),
                                         "validation accuracy over the grid", "depth", "width",
                                         png["fig15_grid_heatmap"], dpi)
    figs["fig16_sine_boundaries"] = boundaries(data["sine"], europe["points"], europe["outlines"], "features",
                                               png["fig16_sine_boundaries"], dpi)
    figs["fig17_batch_seconds"] = seconds_per_epoch(data["batch"], png["fig17_batch_seconds"], dpi)
    figs["fig18_faces_samples"] = faces_samples(data["faces"], png["fig18_faces_samples"], dpi=dpi)
    return figs
