"""params.yaml's schema: every key a stage reads, and nothing else."""

import pytest
import yaml
from conftest import ROOT

from nnrepro import params
from nnrepro.errors import UserError


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
    assert params.load(tmp_path / "params.yaml").integer("seed", 0) == 0
