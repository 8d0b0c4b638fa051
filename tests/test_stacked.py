"""europe.stacked against the independent reference loop (tests/reference_loop.py), run by run: history rows and
final weights within the tolerances the trainer's docstring states; a rerun is byte-identical."""

import math

import pytest
import torch
from reference_loop import as_mlp_state, reference_net, reference_run

from nnrepro.europe import stacked
from nnrepro.europe.mlp import MLP

CLASSES = 4
PLAIN = {"rtol": 1e-4, "atol": 1e-5}  # the docstring's tolerances
BATCHNORM = {"rtol": 1e-3, "atol": 1e-4}
BATCHNORM_EVAL = {"rtol": 5e-2, "atol": 5e-2}  # validation and test rows of BatchNorm nets: through drifting means


@pytest.fixture(scope="module")
def splits():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 2, generator=g) * 20
    y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
    return {"train": (x, y), "validation": (x[:100], y[:100]), "test": (x[100:200], y[100:200])}


def _model(seed: int, arch: dict) -> MLP:
    torch.manual_seed(seed)
    return MLP(num_classes=CLASSES, **arch)


def _stacked(splits, arch: dict, lrs: list[float], seeds: list[int], **schedule):
    models = [_model(seed, arch) for seed in seeds]
    result = stacked.train_stacked(models, splits, lrs=lrs, seeds=seeds, **schedule)
    return models, result


def _reference(splits, arch: dict, lr: float, seed: int, **schedule):
    net = reference_net(
        arch["depth"],
        arch["width"],
        CLASSES,
        seed=seed,
        **{k: v for k, v in arch.items() if k not in ("depth", "width")},
    )
    return net, reference_run(net, splits, lr=lr, seed=seed, **schedule)


def _assert_rows_close(reference: list[dict], ours: list[dict], tolerance: dict, evaluated: dict | None = None):
    """Every row's values within `tolerance`; the validation and test ones within `evaluated` if given."""
    assert len(ours) == len(reference)
    for want, got in zip(reference, ours):
        assert got.keys() - {"seconds"} == want.keys()
        assert got["diverged"] == want["diverged"] and got["epoch"] == want["epoch"]
        for key in want.keys() - {"diverged", "epoch"}:
            bound = evaluated if evaluated and not key.startswith("train") else tolerance
            assert got[key] == pytest.approx(want[key], rel=bound["rtol"], abs=bound["atol"], nan_ok=True), key


def _assert_weights_close(net, model: MLP, tolerance: dict, skip=()) -> None:
    want, got = as_mlp_state(net), model.state_dict()
    assert got.keys() == want.keys()
    for name in want.keys() - set(skip):
        torch.testing.assert_close(got[name], want[name], **tolerance, equal_nan=True, msg=name)


def _compare(splits, arch: dict, lrs, seeds, **schedule) -> list[list[dict]]:
    """Every run stacked and alone through the reference; assert they agree within PLAIN; the stacked histories."""
    schedule = {"epochs": 3, "batch_size": 16, **schedule}
    models, histories = _stacked(splits, arch, lrs, seeds, **schedule)
    for model, history, lr, seed in zip(models, histories, lrs, seeds):
        net, reference = _reference(splits, arch, lr, seed, **schedule)
        _assert_rows_close(reference, history, PLAIN)
        _assert_weights_close(net, model, PLAIN)
    return histories


def _learned(history: list[dict]) -> bool:
    return not history[-1]["diverged"] and history[-1]["validation_acc"] > 0.5  # chance is 0.25


def test_plain_nets_with_several_lrs_match_the_reference(splits):
    histories = _compare(splits, {"depth": 3, "width": 8}, [0.03, 0.01, 0.003, 0.01], [1, 2, 3, 4], first_epoch_evals=3)
    assert [len(h) for h in histories] == [5] * 4  # three evaluations in the first epoch, one per later epoch
    assert [row["epoch"] for row in histories[0]] == [round(s / 19, 6) for s in (6, 13, 19)] + [2.0, 3.0]
    assert all(_learned(h) for h in histories)


def test_batchnorm_nets_match_the_reference_where_gradients_exist(splits):
    """The hidden biases before BatchNorm have zero true gradient: Adam turns rounding noise in it into lr-sized
    steps, on each side its own. BatchNorm removes them in training, so train rows and every weight with a gradient
    agree; the running means track the drift, so eval-mode rows agree only loosely, and exactly once the drifting
    biases and running means are the reference's. 300 rows in batches of 16: a ragged last batch of 12 too."""
    arch, schedule = {"depth": 3, "width": 8, "batchnorm": True}, {"epochs": 3, "batch_size": 16}
    drifting = [
        f"{layer}.{i}.{name}" for i in range(3) for layer, name in (("hidden", "bias"), ("norms", "running_mean"))
    ]
    models, histories = _stacked(splits, arch, [0.01, 0.003], [1, 2], **schedule)
    for model, history, lr, seed in zip(models, histories, [0.01, 0.003], [1, 2]):
        net, reference = _reference(splits, arch, lr, seed, **schedule)
        _assert_rows_close(reference, history, BATCHNORM, evaluated=BATCHNORM_EVAL)
        _assert_weights_close(net, model, BATCHNORM, skip=drifting)
        model.load_state_dict({**model.state_dict(), **{name: as_mlp_state(net)[name] for name in drifting}})
        x = splits["validation"][0]
        torch.testing.assert_close(model.eval()(x), net.eval()(x), **BATCHNORM)
    assert all(_learned(h) for h in histories)


def test_residual_nets_match_the_reference(splits):
    histories = _compare(splits, {"depth": 4, "width": 8, "residual": True}, [0.01, 0.003], [1, 2])
    assert all(_learned(h) for h in histories)


def test_sine_feature_nets_match_the_reference(splits):
    histories = _compare(splits, {"depth": 2, "width": 8, "features": "sine"}, [0.01, 0.03], [1, 2])
    assert all(_learned(h) for h in histories)


def test_batch_size_one_matches_the_reference(splits):
    histories = _compare(splits, {"depth": 3, "width": 16}, [0.01, 0.001], [1, 2], epochs=1, batch_size=1)
    assert all(_learned(h) for h in histories)


def test_other_seeds_fail_the_tolerance(splits):
    """Counter-example: the reference under another seed is another run, and the comparison says so."""
    arch = {"depth": 3, "width": 8}
    models, histories = _stacked(splits, arch, [0.01], [1], epochs=2, batch_size=16)
    net, reference = _reference(splits, arch, 0.01, 2, epochs=2, batch_size=16)
    with pytest.raises(AssertionError):
        _assert_rows_close(reference, histories[0], PLAIN)
    with pytest.raises(AssertionError):
        _assert_weights_close(net, models[0], PLAIN)


def test_a_batch_larger_than_the_data_is_one_ragged_batch(splits):
    histories = _compare(splits, {"depth": 2, "width": 8}, [0.01, 0.03], [1, 2], epochs=2, batch_size=512)
    assert [row["epoch"] for row in histories[0]] == [1.0, 2.0]


def test_a_diverging_run_ends_alone_and_the_others_still_match(splits):
    histories = _compare(splits, {"depth": 3, "width": 8}, [0.01, 1e15, 0.003], [1, 2, 3], epochs=4)
    diverged = histories[1]
    assert diverged[-1]["diverged"] and not math.isfinite(diverged[-1]["train_loss"])
    assert len(diverged) < 4 and not any(row["diverged"] for row in diverged[:-1])
    assert len(histories[0]) == len(histories[2]) == 4
    assert _learned(histories[0]) and _learned(histories[2])


def test_probe_matches_hooks_on_the_reference(splits):
    arch, layers, lrs, seeds = {"depth": 4, "width": 8}, [0, 2, 3], [0.01, 1e15, 0.003], [1, 2, 3]
    schedule = {"epochs": 3, "batch_size": 32}
    models, (histories, grads, dead) = _stacked(splits, arch, lrs, seeds, probe_layers=layers, **schedule)
    for k, (lr, seed) in enumerate(zip(lrs, seeds)):
        net, (history, want_grads, want_dead) = _reference(splits, arch, lr, seed, probe_layers=layers, **schedule)
        _assert_rows_close(history, histories[k], PLAIN)
        assert len(grads[k]) == len(want_grads) == len(dead[k]) == len(want_dead) == len(history)
        for got, want in zip(grads[k] + dead[k], want_grads + want_dead):
            assert got == pytest.approx(want, rel=1e-4, abs=1e-12, nan_ok=True)
    assert histories[1][-1]["diverged"]  # the probe also closes the epoch a run diverges in
    assert all(g > 0 for g in grads[0][-1]) and _learned(histories[0])


def test_a_rerun_is_byte_identical(splits):
    arch = {"depth": 2, "width": 8, "batchnorm": True}
    runs = [_stacked(splits, arch, [0.01, 0.003], [1, 2], epochs=2, batch_size=16) for _ in range(2)]
    (models_a, histories_a), (models_b, histories_b) = runs
    strip = [
        [[{k: v for k, v in row.items() if k != "seconds"} for row in h] for h in hs]
        for hs in (histories_a, histories_b)
    ]
    assert strip[0] == strip[1]
    for a, b in zip(models_a, models_b):
        assert all(torch.equal(a.state_dict()[name], value) for name, value in b.state_dict().items())


def test_one_run_alone_trains_as_it_does_in_a_stack(splits):
    """K = 1 goes through the same code: within the plain tolerance of the same run in a stack of three."""
    arch = {"depth": 3, "width": 8}
    alone, (alone_history,) = _stacked(splits, arch, [0.01], [2], epochs=2, batch_size=16)
    together, histories = _stacked(splits, arch, [0.03, 0.01, 0.003], [1, 2, 3], epochs=2, batch_size=16)
    _assert_rows_close([{k: v for k, v in r.items() if k != "seconds"} for r in alone_history], histories[1], PLAIN)


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
