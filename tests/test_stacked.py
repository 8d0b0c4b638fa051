"""Stacked training against loop.train run alone, run by run: same rows, same final weights and buffers."""

import math

import pytest
import torch

from nnrepro.europe import gradients, loop, stacked
from nnrepro.europe.mlp import MLP

CLASSES = 4


@pytest.fixture(scope="module")
def splits():
    torch.manual_seed(0)
    x = torch.randn(300, 2) * 20
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    return {"train": (x, y), "validation": (x[:100], y[:100]), "test": (x[100:200], y[100:200])}


def _model(seed: int, arch: dict) -> MLP:
    torch.manual_seed(seed)
    return MLP(num_classes=CLASSES, **arch)


def _strip(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "seconds"} for row in history]


def _assert_same_run(alone: list[dict], alone_state: dict, together: list[dict], together_state: dict) -> None:
    assert len(together) == len(alone)
    for expected, got in zip(_strip(alone), _strip(together)):
        assert got.keys() == expected.keys()
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-7, nan_ok=True)
    assert together_state.keys() == alone_state.keys()
    for name, value in alone_state.items():
        torch.testing.assert_close(together_state[name], value, rtol=1e-5, atol=1e-6, equal_nan=True)


def _compare(splits, arch: dict, lrs: list[float], seeds: list[int], **schedule) -> list[list[dict]]:
    """Train each run alone and all stacked; assert they agree; return the histories."""
    schedule = {"epochs": 3, "batch_size": 16, **schedule}
    alone = []
    for lr, seed in zip(lrs, seeds):
        model = _model(seed, arch)
        alone.append((loop.train(model, splits, lr=lr, seed=seed, **schedule), model.state_dict()))
    models = [_model(seed, arch) for seed in seeds]
    histories = stacked.train_stacked(models, splits, lrs=lrs, seeds=seeds, **schedule)
    assert len(histories) == len(models)
    for (history, state), together, model in zip(alone, histories, models):
        _assert_same_run(history, state, together, model.state_dict())
    return histories


def _learned(history: list[dict]) -> bool:
    return not history[-1]["diverged"] and history[-1]["validation_acc"] > 0.5  # chance is 0.25


def test_plain_nets_with_several_lrs_equal_runs_alone(splits):
    histories = _compare(splits, {"depth": 3, "width": 8}, [0.03, 0.01, 0.003, 0.01], [1, 2, 3, 4], first_epoch_evals=3)
    assert [len(h) for h in histories] == [5] * 4  # three evaluations in the first epoch, one per later epoch
    assert all(_learned(h) for h in histories)


def test_batchnorm_nets_equal_runs_alone(splits):
    # 300 rows in batches of 16 leave a last batch of 12: per-run batch statistics over a ragged batch too.
    histories = _compare(splits, {"depth": 3, "width": 8, "batchnorm": True}, [0.01, 0.003], [1, 2])
    assert all(_learned(h) for h in histories)


def test_batchnorm_nets_of_an_odd_width_equal_runs_alone(splits):
    histories = _compare(
        splits, {"depth": 2, "width": 5, "batchnorm": True, "residual": True}, [0.01, 0.003], [5, 6], batch_size=19
    )
    assert all(_learned(h) for h in histories)


def test_residual_nets_equal_runs_alone(splits):
    histories = _compare(splits, {"depth": 4, "width": 8, "residual": True}, [0.01, 0.003], [1, 2])
    assert all(_learned(h) for h in histories)


def test_sine_feature_nets_equal_runs_alone(splits):
    histories = _compare(splits, {"depth": 2, "width": 8, "features": "sine"}, [0.01, 0.03], [1, 2])
    assert all(_learned(h) for h in histories)


def test_batch_size_one_equals_runs_alone(splits):
    histories = _compare(splits, {"depth": 3, "width": 16}, [0.01, 0.001], [1, 2], epochs=1, batch_size=1)
    assert all(_learned(h) for h in histories)


def test_batch_size_one_stacks_bit_for_bit(splits):
    # Every product of this net is under 400 multiply-adds: ATen's own loop, alone and stacked, on any CPU.
    arch, lrs, seeds = {"depth": 3, "width": 16}, [0.01, 0.003], [1, 2]
    alone = []
    for lr, seed in zip(lrs, seeds):
        model = _model(seed, arch)
        alone.append((loop.train(model, splits, lr=lr, seed=seed, epochs=1, batch_size=1), model.state_dict()))
    models = [_model(seed, arch) for seed in seeds]
    histories = stacked.train_stacked(models, splits, lrs=lrs, seeds=seeds, epochs=1, batch_size=1)

    def drop(history: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k not in ("seconds", "train_loss")} for row in history]

    for (history, state), together, model in zip(alone, histories, models):
        assert drop(together) == drop(history)
        assert all(torch.equal(model.state_dict()[name], value) for name, value in state.items())
    assert any(not torch.equal(a[1]["output.weight"], _model(1, arch).output.weight) for a in alone)  # it trained


def test_a_diverging_run_stops_alone_and_the_others_go_on(splits):
    lrs, seeds = [0.01, 1e15, 0.003], [1, 2, 3]
    histories = _compare(splits, {"depth": 3, "width": 8}, lrs, seeds, epochs=4)
    diverged = histories[1]
    assert diverged[-1]["diverged"] and not math.isfinite(diverged[-1]["train_loss"])
    assert len(diverged) < 4 and not any(row["diverged"] for row in diverged[:-1])
    assert len(histories[0]) == len(histories[2]) == 4
    assert _learned(histories[0]) and _learned(histories[2])


def test_probe_layers_equal_train_with_probe(splits):
    arch, layers, lrs, seeds = {"depth": 4, "width": 8}, [0, 2, 3], [0.01, 1e15, 0.003], [1, 2, 3]
    schedule = {"epochs": 3, "batch_size": 32}
    alone = []
    for lr, seed in zip(lrs, seeds):
        model = _model(seed, arch)
        alone.append(
            (*gradients.train_with_probe(model, splits, layers, lr=lr, seed=seed, **schedule), model.state_dict())
        )
    models = [_model(seed, arch) for seed in seeds]
    histories, grads, dead = stacked.train_stacked(
        models, splits, lrs=lrs, seeds=seeds, probe_layers=layers, **schedule
    )
    assert alone[1][0][-1]["diverged"]  # the probe also closes the epoch a run diverges in
    for k, (history, expected_grads, expected_dead, state) in enumerate(alone):
        _assert_same_run(history, state, histories[k], models[k].state_dict())
        assert len(grads[k]) == len(expected_grads) == len(dead[k]) == len(expected_dead)
        for got, expected in zip(grads[k] + dead[k], expected_grads + expected_dead):
            assert got == pytest.approx(expected, rel=1e-4, abs=1e-12, nan_ok=True)
    assert all(g > 0 for g in grads[0][-1]) and _learned(histories[0])


def test_report_sees_every_row_of_every_run(splits):
    seen = []
    models = [_model(seed, {"depth": 2, "width": 4}) for seed in (1, 2)]
    histories = stacked.train_stacked(
        models,
        splits,
        lrs=[0.01, 0.02],
        seeds=[1, 2],
        epochs=2,
        batch_size=64,
        report=lambda k, row: seen.append((k, row)),
    )
    assert sorted(seen, key=lambda item: item[0]) == [(k, row) for k, h in enumerate(histories) for row in h]


@pytest.mark.parametrize(
    "other",
    [{"depth": 2, "width": 8}, {"depth": 3, "width": 4}, {"batchnorm": True}, {"residual": True}, {"features": "sine"}],
)
def test_models_of_different_shapes_raise(splits, other):
    models = [_model(1, {"depth": 3, "width": 8}), _model(2, {"depth": 3, "width": 8, **other})]
    with pytest.raises(ValueError, match="share"):
        stacked.train_stacked(models, splits, lrs=[0.01, 0.01], seeds=[1, 2], epochs=1, batch_size=16)


def test_one_lr_and_seed_per_model_and_no_single_row_batchnorm_batches(splits):
    models = [_model(seed, {"depth": 2, "width": 4, "batchnorm": True}) for seed in (1, 2)]
    with pytest.raises(ValueError, match="one lr and one seed"):
        stacked.train_stacked(models, splits, lrs=[0.01], seeds=[1, 2], epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="more than one row"):  # 300 = 13 * 23 + 1: a last batch of one row
        stacked.train_stacked(models, splits, lrs=[0.01, 0.01], seeds=[1, 2], epochs=1, batch_size=23)
