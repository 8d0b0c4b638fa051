"""params.yaml's schema: every key a stage reads, and nothing else."""

import pytest
import yaml
from conftest import ROOT

from nnrepro import params
from nnrepro.errors import UserError
from nnrepro.runtime import stage

DVC_STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def test_the_schema_is_the_repository_params():
    assert sorted(params.KNOWN) == sorted(params.leaves(yaml.safe_load((ROOT / "params.yaml").read_text())))


@pytest.mark.parametrize(
    "key, close",
    [
        ("mlp_long.epoch", "mlp_long.epochs"),
        ("faces.imagedir", "faces.image_dir"),
        ("lrs", "lr"),
        ("zzz_unrelated", None),
    ],
)
def test_an_unknown_key_is_named_with_the_closest_known_one(tmp_path, key, close):
    values = yaml.safe_load((ROOT / "params.yaml").read_text())
    section, _, name = key.rpartition(".")
    (values[section] if section else values)[name] = 5
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(values))
    with pytest.raises(UserError) as err:
        params.load(tmp_path / "params.yaml")
    assert f"has '{key}', which no stage reads" in str(err.value)
    assert (f"did you mean '{close}'?" in str(err.value)) if close else "did you mean" not in str(err.value)


def test_known_keys_load(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    assert params.load(tmp_path / "params.yaml").integer("data_seed", 0) == 0


@pytest.mark.parametrize("old", sorted(params.RENAMED))
def test_a_key_of_an_older_params_file_names_what_replaced_it(tmp_path, old):
    values = yaml.safe_load((ROOT / "params.yaml").read_text())
    section, _, name = old.rpartition(".")
    (values[section] if section else values)[name] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(values))
    with pytest.raises(UserError, match=f"has '{old}', which no stage reads: it is now "):
        params.load(tmp_path / "params.yaml")


def test_the_seeds_live_under_data_seed_and_replicates():
    values = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert values["data_seed"] == 0
    assert values["replicates"] == {"first": 0, "mlp": 8, "grad_probe": 8, "probe": 8, "cnn": 8}


@pytest.fixture(autouse=True)
def _keep_threads():
    """stage.start sets torch's thread count: the test process keeps its own."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _start_in(tmp_path, monkeypatch, first: int, kind):
    values = yaml.safe_load((ROOT / "params.yaml").read_text())
    values["replicates"]["first"] = first
    values["device"] = "cpu"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(values))
    monkeypatch.chdir(tmp_path)
    return stage.start(threads=1, kind=kind)


@pytest.mark.parametrize("kind, count", [("mlp", 8), ("grad_probe", 8), ("probe", 8), ("cnn", 8)])
def test_a_training_stage_gets_its_replicates_seeds_first_plus_k(tmp_path, monkeypatch, kind, count):
    import torch

    ctx = _start_in(tmp_path, monkeypatch, 100, kind)
    assert ctx.seeds == list(range(100, 100 + count))
    assert ctx.params.served == {"replicates.first", f"replicates.{kind}", "device"}  # never data_seed
    drawn = torch.rand(3)
    torch.manual_seed(100)
    assert torch.equal(drawn, torch.rand(3))  # the global generators start from replicates.first


def test_a_stage_that_trains_nothing_reads_no_seed(tmp_path, monkeypatch):
    ctx = _start_in(tmp_path, monkeypatch, 100, None)
    assert ctx.seeds == [] and ctx.params.served == {"device"}
    with pytest.raises(ValueError, match="kind must be one of"):
        stage.start(threads=1, kind="replicates")


def test_an_unrecorded_read_is_no_served_key():
    config = params.Params({"cnn": {"memory_mb": 64, "lrs": [0.1]}})
    assert config.unrecorded("cnn.memory_mb") == 64 and config.served == set()
    assert config.get("cnn.lrs") == [0.1] and config.served == {"cnn.lrs"}
    with pytest.raises(UserError, match="has no 'cnn.arch'"):
        config.unrecorded("cnn.arch")


def _declared(stage_name: str) -> set[str]:
    return set(DVC_STAGES[stage_name].get("params", []))


def test_only_the_prepare_stages_read_data_seed_and_they_read_no_replicates():
    readers = {name for name in DVC_STAGES if "data_seed" in _declared(name)}
    assert readers == {"prepare_europe", "prepare_faces", "report"}  # the report prints params.yaml whole
    for name in ("prepare_europe", "prepare_faces"):
        assert not any(key.startswith("replicates") for key in _declared(name))


@pytest.mark.parametrize(
    "stage_name, kind",
    [
        ("mlp_lr", "mlp"),
        ("mlp_long", "mlp"),
        ("mlp_batch", "mlp"),
        ("mlp_grid", "mlp"),
        ("mlp_sine", "mlp"),
        ("grad_probe", "grad_probe"),
        ("cnn_probe", "probe"),
        ("cnn_scratch", "cnn"),
        ("cnn_finetune", "cnn"),
    ],
)
def test_each_training_stage_declares_replicates_first_and_its_own_count(stage_name, kind):
    counts = {key for key in _declared(stage_name) if key.startswith("replicates.")}
    assert counts == {"replicates.first", f"replicates.{kind}"}


def test_params_that_change_no_result_are_no_stage_params():
    """A plot's resolution retrains nothing, and where the CNN inputs live (cnn.memory_mb) or whether a download
    is allowed reruns no stage; the reporting side reads the cells the stages wrote, not the lr lists."""
    assert "evaluate.mesh" not in _declared("mlp_sine")
    for name, declared in ((name, _declared(name)) for name in DVC_STAGES):
        assert not declared & {"cnn.memory_mb", "cnn.allow_download", "seed", "seeds"}, name
    for name in ("claims", "figures", "cnn_evaluate"):
        assert not _declared(name) & {"mlp_lr.lrs", "mlp_lr.batchnorm", "cnn.lrs"}, name
    assert not _declared("evaluate") & {"mlp_grid.depths", "mlp_grid.widths"}


def test_cnn_memory_mb_is_read_unrecorded_and_still_validated():
    from nnrepro.faces import cnn

    config = params.Params({"cnn": {"memory_mb": 64, "epochs": 1}})
    chosen = cnn.settings(config, "memory_mb", "epochs")
    assert chosen.memory_mb == 64 and config.served == {"cnn.epochs"}
    with pytest.raises(UserError, match="cnn.memory_mb must be a positive number"):
        cnn.settings(params.Params({"cnn": {"memory_mb": 0}}), "memory_mb")
