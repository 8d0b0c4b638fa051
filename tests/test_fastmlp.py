"""The hand-written MLP step against autograd: same loss, same gradients, same training."""

import pytest
import torch
import torch.nn.functional as F

from nnrepro.europe import fastmlp, loop
from nnrepro.europe.mlp import MLP


def _autograd(model, joined, x, y):
    loss = F.cross_entropy(model(x), y)
    joined.grad.zero_()
    loss.backward()
    return loss.detach(), joined.grad.clone()


@pytest.mark.parametrize(
    "depth, width, batch, residual, features",
    [
        (6, 16, 1, False, "xy"),
        (6, 16, 256, False, "xy"),
        (1, 8, 7, False, "sine"),
        (2, 3, 5, False, "xy"),
        (10, 4, 64, True, "xy"),
        (3, 5, 2, True, "sine"),
        (100, 4, 32, True, "xy"),
    ],
)
def test_gradients_equal_autograd_on_random_nets(depth, width, batch, residual, features):
    torch.manual_seed(depth * 100 + batch)
    model = MLP(depth, width, 33, residual=residual, features=features)
    joined = loop.flatten_parameters(model)
    with torch.no_grad():  # random weights of every scale, so dead and live ReLUs both occur
        joined.mul_(torch.rand_like(joined) * 3)
    x, y = torch.randn(batch, 2) * 20, torch.randint(0, 33, (batch,))
    loss, expected = _autograd(model, joined, x, y)
    joined.grad.fill_(float("nan"))  # the step must overwrite every gradient, not accumulate into it
    fast_loss, logits = fastmlp.Step(model)(x, y)
    # products under 400 multiply-adds go through ATen's loop (as a stack computes them), autograd's through MKL
    assert torch.allclose(fast_loss, loss, rtol=1e-6, atol=0) and torch.allclose(logits, model(x), atol=1e-6)
    assert torch.allclose(joined.grad, expected, rtol=1e-5, atol=1e-6)
    assert expected.abs().max() > 0


def test_training_takes_the_fast_step_for_plain_and_residual_nets_and_autograd_for_batchnorm(monkeypatch):
    """The hand-written step has no BatchNorm (test_mlp.py checks BatchNorm training against torch's Adam loop)."""
    stepped, real = [], fastmlp.Step
    monkeypatch.setattr(fastmlp, "Step", lambda model: stepped.append(model) or real(model))
    x, y = torch.randn(16, 2), torch.randint(0, 3, (16,))
    nets = [MLP(2, 4, 3), MLP(2, 4, 3, residual=True), MLP(2, 4, 3, batchnorm=True)]
    for net in nets:
        loop.train(net, {"train": (x, y)}, lr=0.01, epochs=1, batch_size=8, seed=0)
    assert [id(net) for net in stepped] == [id(net) for net in nets[:2]]


def test_training_with_the_fast_step_equals_autograd_training(monkeypatch):
    torch.manual_seed(0)
    x = torch.randn(300, 2) * 20
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    splits = {"train": (x, y), "validation": (x[:100], y[:100])}

    def fit():
        torch.manual_seed(1)
        model = MLP(3, 8, 4)
        # batches of 25 from 300 rows: every product of 400 multiply-adds or more, MKL's on both sides
        return loop.train(model, splits, lr=0.01, epochs=3, batch_size=25, seed=0), model.state_dict()

    fast_history, fast_state = fit()
    monkeypatch.setattr(fastmlp, "supports", lambda model: False)
    slow_history, slow_state = fit()

    def strip(history: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    assert strip(fast_history) == strip(slow_history)
    assert all(torch.equal(fast_state[k], slow_state[k]) for k in fast_state)
    assert fast_history[-1]["validation_acc"] > 0.5  # it learned: the comparison is not between two dead nets
