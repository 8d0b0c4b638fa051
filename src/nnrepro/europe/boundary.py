"""Decision boundaries: a model's argmax over a fine longitude/latitude mesh."""

import numpy as np
import torch

from nnrepro import io


def extent(x: torch.Tensor, margin: float = 1.0) -> tuple[float, float, float, float]:
    """(lon0, lon1, lat0, lat1) of the points, widened by `margin` degrees."""
    low, high = x.min(0).values.tolist(), x.max(0).values.tolist()
    return low[0] - margin, high[0] + margin, low[1] - margin, high[1] + margin


def mesh_labels(model: torch.nn.Module, bounds: tuple, resolution: int) -> dict:
    """Predicted class at each mesh point: `resolution` points along longitude, as many per degree on latitude."""
    lon0, lon1, lat0, lat1 = bounds
    lon = np.linspace(lon0, lon1, resolution)
    lat = np.linspace(lat0, lat1, max(2, round(resolution * (lat1 - lat0) / (lon1 - lon0))))
    grid = torch.tensor(np.stack(np.meshgrid(lon, lat), -1).reshape(-1, 2), dtype=torch.float32)
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        labels = model(grid.to(device)).argmax(1).to(torch.uint8).cpu().numpy()
    return {"lon": lon, "lat": lat, "labels": labels.reshape(len(lat), len(lon))}


def save(path, mesh: dict) -> None:
    with io.atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **mesh)
