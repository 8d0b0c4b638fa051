import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnrepro.europe import gradients, stacked, summary
from nnrepro.europe.mlp import MLP


def blobs(n: int = 600, classes: int = 5, seed: int = 0, spread: float = 1.0):
    """Clusters in longitude/latitude-like coordinates."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(classes, 2, generator=g) * 40
    y = torch.randint(classes, (n,), generator=g)
    return centres[y] + spread * torch.randn(n, 2, generator=g), y


def splits(n: int = 600, classes: int = 5):
    x, y = blobs(n, classes)
    third = n // 3
    return {
        "train": (x[:third], y[:third]),
        "validation": (x[third : 2 * third], y[third : 2 * third]),
        "test": (x[2 * third :], y[2 * third :]),
    }


def test_depth_counts_the_input_layer_and_batchnorm_precedes_relu():
    model = MLP(6, 16, 33, batchnorm=True)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 7 and linears[0].in_features == 2 and linears[-1].out_features == 33
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 6
    seen = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append(type(m).__name__))
        for m in model.modules()
        if isinstance(m, (nn.Linear, nn.BatchNorm1d))
    ]
    model(torch.randn(4, 2))
    [h.remove() for h in hooks]
    assert seen[:4] == ["Linear", "BatchNorm1d", "Linear", "BatchNorm1d"]


def test_sine_features_have_ten_frequencies_per_coordinate():
    model = MLP(1, 8, 3, features="sine")
    assert model.hidden[0].in_features == 20
    x = torch.tensor([[1.0, 2.0]])
    assert torch.allclose(model.featurize(x)[0, :2], torch.sin(torch.tensor([0.1, 0.2])))


def test_loss_at_initialisation_is_near_log_k():
    torch.manual_seed(0)
    model = MLP(6, 16, 33)
    x = torch.rand(2000, 2) * torch.tensor([52.0, 38.0]) + torch.tensor([-11.0, 34.0])
    loss = F.cross_entropy(model(x), torch.randint(33, (2000,)))
    assert abs(loss.item() - math.log(33)) < 0.5


def train(model: MLP, data: dict, **schedule):
    """One run through the stacked trainer (K = 1), as the stages train."""
    return stacked.train_stacked([model], data, lrs=[schedule.pop("lr")], seeds=[schedule.pop("seed")], **schedule)


def test_small_model_overfits_a_small_batch():
    torch.manual_seed(0)
    x, y = blobs(32, 4)
    model = MLP(2, 64, 4)
    train(model, {"train": (x, y)}, lr=0.003, epochs=1500, batch_size=32, seed=0)
    logits = model.eval()(x)
    assert (logits.argmax(1) == y).all() and F.cross_entropy(logits, y) < 0.05


def test_history_has_one_row_per_evaluation_with_every_key():
    data = splits()
    (history,) = train(MLP(2, 8, 5), data, lr=0.01, epochs=3, batch_size=50, seed=0)
    assert [r["epoch"] for r in history] == [1.0, 2.0, 3.0]
    assert set(history[0]) == {
        "epoch",
        "train_loss",
        "train_acc",
        "validation_loss",
        "validation_acc",
        "test_loss",
        "test_acc",
        "seconds",
        "diverged",
    }
    (inner,) = train(MLP(2, 8, 5), data, lr=0.01, epochs=3, batch_size=10, seed=0, first_epoch_evals=4)
    assert [r["epoch"] for r in inner] == [0.25, 0.5, 0.75, 1.0, 2.0, 3.0]


def test_same_seed_same_history_other_seed_differs():
    def run(seed):
        torch.manual_seed(seed)
        (history,) = train(MLP(2, 8, 5), splits(), lr=0.01, epochs=2, batch_size=32, seed=seed)
        return [{k: v for k, v in r.items() if k != "seconds"} for r in history]

    assert run(1) == run(1) and run(1) != run(2)


def test_divergence_is_recorded_not_raised():
    torch.manual_seed(0)
    model = MLP(2, 8, 5)
    with torch.no_grad():
        model.output.weight.fill_(float("nan"))
    (history,) = train(model, splits(), lr=0.01, epochs=5, batch_size=50, seed=0)
    assert len(history) == 1 and history[0]["diverged"]
    result = summary.summarize(history)
    assert result["diverged"] and result["final_train_loss"] is None


def test_residual_keeps_early_gradients_alive():
    data = {"train": blobs(512, 5)}
    norms = {}
    for residual in (False, True):
        torch.manual_seed(0)
        model = MLP(60, 4, 5, residual=residual)
        _, grads, _ = stacked.train_stacked(
            [model], data, lrs=[1e-3], seeds=[0], epochs=1, batch_size=128, probe_layers=[0, 59]
        )
        norms[residual] = grads[0][0][0]
    assert norms[True] > 0 and norms[True] > 1e6 * max(norms[False], 1e-30)


def test_probe_rejects_a_layer_beyond_the_depth():
    with pytest.raises(Exception, match="grad_probe.layers has 7, outside 0..4"):
        gradients.probed_weights(MLP(5, 4, 3), [0, 7])
    with pytest.raises(Exception, match="grad_probe.layers has 7, outside 0..4"):
        stacked.train_stacked([MLP(5, 4, 3)], splits(), lrs=[0.01], seeds=[0], epochs=1, batch_size=8, probe_layers=[7])


def _dead(model: MLP, layers: list[int], x: torch.Tensor) -> list[float]:
    """The probe's dead fractions after one epoch at an lr too small to move anything."""
    y = torch.zeros(len(x), dtype=torch.long)
    _, _, dead = stacked.train_stacked(
        [model], {"train": (x, y)}, lrs=[1e-20], seeds=[0], epochs=1, batch_size=64, probe_layers=layers
    )
    return dead[0][-1]


def test_dead_fraction_counts_units_zero_on_every_input():
    x, _ = blobs(256, 5)
    dead = MLP(3, 8, 5)
    with torch.no_grad():
        dead.hidden[1].bias.fill_(-1e6)  # layer 1's units never fire: all dead; layer 0 is untouched
    alive = MLP(3, 8, 5)
    with torch.no_grad():
        for layer in alive.hidden:
            layer.bias.fill_(1e6)  # every unit positive on every input
    assert _dead(dead, [1], x) == [1.0]
    assert _dead(alive, [0, 1, 2], x) == [0.0, 0.0, 0.0]
    half = MLP(1, 2, 5)
    with torch.no_grad():
        half.hidden[0].weight.zero_()
        half.hidden[0].bias.copy_(torch.tensor([-1.0, 1.0]))
    assert _dead(half, [0], x) == [0.5]


def test_probe_returns_one_row_per_epoch_and_layer():
    data = {"train": blobs(256, 5)}
    torch.manual_seed(0)
    (history,), (grads,), (dead,) = stacked.train_stacked(
        [MLP(12, 4, 5)], data, lrs=[1e-3], seeds=[0], epochs=2, batch_size=64, probe_layers=[0, 6, 11]
    )
    assert len(history) == len(grads) == len(dead) == 2
    assert all(len(row) == 3 for row in grads + dead)
    assert all(0.0 <= v <= 1.0 for row in dead for v in row) and all(v >= 0.0 for row in grads for v in row)


def test_seed_curves_and_median_table():
    runs = [
        {
            "history": [{"diverged": False, "validation_acc": a}],
            "grads": [[1.0, 0.0], [3.0, 0.0]],
            "dead": [[0.0, 1.0], [0.0, 1.0]],
        }
        for a in (0.5, 0.25)
    ]
    runs[1]["grads"] = [[3.0, 0.0], [5.0, 2.0]]
    curves = gradients.curves(runs)
    assert curves["final_validation_acc"] == [0.5, 0.25] and curves["diverged"] == [False, False]
    table = gradients.median_table(curves, [0, 9])
    assert list(table.columns) == ["layer", "epoch", "grad_sq_norm"]
    assert table["layer"].tolist() == [0, 0, 9, 9] and table["epoch"].tolist() == [1, 2, 1, 2]
    assert table["grad_sq_norm"].tolist() == [2.0, 4.0, 0.0, 1.0]
    summary = gradients.replicate_summaries(runs, [0, 9])
    assert summary["rep1"]["layer_9_grad_sq_norm"] == 2.0 and summary["rep0"]["layer_9_dead_fraction"] == 1.0


def test_a_saved_model_is_the_same_bytes_at_every_save(tmp_path):
    """io.save_torch writes identical bytes for identical weights, whatever the file or its random temporary file is
    called (DVC hashes models: a retrained, identical model must not rerun what depends on it)."""
    from nnrepro import io

    torch.manual_seed(0)
    state = MLP(2, 4, 3).state_dict()
    for name in ("a.pt", "b.pt"):
        io.save_torch(state, tmp_path / "first" / name)
    first = (tmp_path / "first/a.pt").read_bytes()
    io.save_torch(state, tmp_path / "first/a.pt")
    assert (tmp_path / "first/a.pt").read_bytes() == first == (tmp_path / "first/b.pt").read_bytes()
    loaded = torch.load(tmp_path / "first/a.pt", weights_only=True)
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


@pytest.mark.parametrize("shape", [(3, 33, 256), (3, 33, 4), (1, 33, 1)])
def test_predicted_is_argmax_with_ties_nan_and_inf(shape):
    torch.manual_seed(0)
    logits = torch.round(torch.randn(*shape))  # many ties: the first maximum must win
    rows = logits.transpose(1, 2)  # a view: classes last
    rows[0, 0, [3, 7]] = float("nan")
    rows[-1, -1] = float("inf")
    rows[0, -1] = float("-inf")
    last_max = shape[1] - 1 - logits.flip(1).argmax(1)
    assert shape[2] < 256 or not torch.equal(last_max, logits.argmax(1))  # the ties tell first from last
    assert torch.equal(stacked._predicted(logits), logits.argmax(1))
