"""The multi-layer perceptron of the Europe study."""

from typing import cast

import torch
from torch import nn

FEATURES = ("xy", "sine")
SINE_ALPHAS = tuple(round(0.1 * k, 1) for k in range(1, 11))


class MLP(nn.Module):
    """`depth` hidden layers of `width` units (the input layer counts as the first), ReLU, linear output.

    Options: BatchNorm1d after each hidden linear layer (before the ReLU); residual connections, branch scaled
    by 1/sqrt(depth), around the hidden layers after the first; `sine` features sin(alpha * x) per coordinate.
    """

    # Typed here: nn.Module types every other attribute Tensor | Module.
    alphas: torch.Tensor
    output: nn.Linear

    def __init__(
        self,
        depth: int,
        width: int,
        num_classes: int,
        *,
        batchnorm: bool = False,
        residual: bool = False,
        features: str = "xy",
    ):
        super().__init__()
        self.residual = residual
        # Scaled residual branches keep the sum of `depth` branches from blowing up the activations.
        self.branch_scale = depth**-0.5
        self.features = features
        self.register_buffer("alphas", torch.tensor(SINE_ALPHAS), persistent=False)
        in_dim = 2 if features == "xy" else 2 * len(SINE_ALPHAS)
        widths = [in_dim] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        norm = (lambda: nn.BatchNorm1d(width)) if batchnorm else nn.Identity
        self.norms = nn.ModuleList(norm() for _ in range(depth))
        self.output = nn.Linear(width, num_classes)

    def linears(self) -> list[nn.Linear]:
        """The hidden linear layers in order, then the output layer."""
        return [cast(nn.Linear, layer) for layer in self.hidden] + [self.output]

    def featurize(self, x: torch.Tensor) -> torch.Tensor:
        if self.features == "xy":
            return x  # raw longitude/latitude, not normalised, as in the course
        return torch.sin(x.unsqueeze(-1) * self.alphas).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.featurize(x)
        for i, (linear, norm) in enumerate(zip(self.hidden, self.norms)):
            y = torch.relu(norm(linear(h)))
            h = h + self.branch_scale * y if self.residual and i > 0 else y
        return self.output(h)


def architecture(
    config, *, depth_key: str = "mlp.depth", width_key: str = "mlp.width", features: str | None = None
) -> dict:
    """Validated depth, width and input features from params (features from mlp.features unless given)."""
    return {
        "depth": config.integer(depth_key),
        "width": config.integer(width_key),
        "features": features or config.choice("mlp.features", FEATURES),
    }


def save(model: MLP, arch: dict, path) -> None:
    from nnrepro import io

    # Clones: each tensor saved with a storage of its own, whatever it views.
    io.save_torch({"arch": arch, "state_dict": {k: v.clone() for k, v in model.state_dict().items()}}, path)


def load(path, num_classes: int, device: torch.device = torch.device("cpu")) -> MLP:
    from nnrepro import io

    checkpoint = io.load_torch(path, "run `dvc repro` so that the stage training it runs first")
    model = MLP(num_classes=num_classes, **checkpoint["arch"]).to(device)
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()
