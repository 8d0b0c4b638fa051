"""Every figure, as a function of metrics and histories (never of training)."""

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


def save(fig: Figure, path) -> None:
    """PNG without a timestamp or version in its metadata, written atomically."""
    fig.tight_layout()
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})


def curves(series: dict, title: str, xlabel: str, ylabel: str, path, logy: bool = False,
           styles: dict | None = None) -> None:
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


def heatmap(values: np.ndarray, rows: list, cols: list, title: str, row_label: str, col_label: str, path) -> None:
    fig = Figure(figsize=(1.2 * len(cols) + 2, 0.8 * len(rows) + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set(xticks=range(len(cols)), xticklabels=cols, yticks=range(len(rows)), yticklabels=rows,
           xlabel=col_label, ylabel=row_label, title=title)
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, "—" if np.isnan(value) else f"{value:.3f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(image, ax=ax)
    save(fig, path)


def boundary(mesh: dict, points: tuple, outlines: dict, title: str, path) -> None:
    """A model's argmax over the mesh, test points on top (same colours), country outlines drawn over it."""
    cmap = class_colormap(33)
    fig = Figure(figsize=(8, 7))
    ax = fig.add_subplot()
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
    save(fig, path)
