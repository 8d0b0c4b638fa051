"""reference/thresholds.yaml: every module's THRESHOLDS registered with its value, the course's words, our reading,
before or after a committed result, and its commit; the loader refuses a malformed file in one line."""

from pathlib import Path

import pytest
import yaml

from nnrepro.errors import UserError
from nnrepro.report import claims, thresholds
from nnrepro.report.claims import core

FILE = Path(__file__).resolve().parents[1] / "reference/thresholds.yaml"
MODULES = {"core": core, **{name: getattr(claims, name) for name in thresholds.BLOCKS[1:]}}


@pytest.mark.parametrize("block", thresholds.BLOCKS)
def test_every_modules_thresholds_equal_the_files_entries(block):
    registered = thresholds.load(FILE)[block]
    module = MODULES[block]
    assert list(registered) == list(module.THRESHOLDS)
    assert {name: e["value"] for name, e in registered.items()} == {n: getattr(module, n) for n in module.THRESHOLDS}


def test_every_entry_says_when_it_was_set_and_which_commit_set_it():
    for entries in thresholds.load(FILE).values():
        for entry in entries.values():
            assert entry["registered"] in ("before", "after") and entry["words"] and entry["reading"]
            assert len(str(entry["commit"])) >= 7


def test_previous_values_are_those_re_derived():
    registry = thresholds.load(FILE)
    registry["core"]["RUN_TO_RUN"] = {**registry["core"]["RUN_TO_RUN"], "previous": 0.03}
    assert thresholds.previous_values(registry)["core"] == {"RUN_TO_RUN": 0.03}
    assert thresholds.previous_values(thresholds.load(FILE))["core"] == {}


def test_a_previous_value_is_in_the_unit_of_the_current_one():
    """Re-judging a claim with a value of another unit means nothing: NOT_TOO_INACCURATE's old 0.8 (a ratio of
    accuracies) is no previous value of its share of the best's lead; its old rule and verdicts are in its reading."""
    entry = thresholds.load(FILE)["evaluation"]["NOT_TOO_INACCURATE"]
    assert entry["previous"] is None and "0.8 as a ratio" in entry["reading"] and "972250d" in entry["reading"]
    for entries in thresholds.load(FILE).values():
        assert all(e["previous"] is None or e["previous"] != e["value"] for e in entries.values())


def written(tmp_path, data) -> Path:
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("cnn"), "must have the blocks"),
        (lambda d: d["core"]["RUN_TO_RUN"].update(registered="later"), "write before or after"),
        (lambda d: d["core"]["RUN_TO_RUN"].pop("commit"), "exactly the fields"),
        (lambda d: d["core"]["RUN_TO_RUN"].update(words=" "), "must not be empty"),
        (lambda d: d["core"]["RUN_TO_RUN"].update(previous=0.057), "previous equals value"),
        (lambda d: d["core"]["RUN_TO_RUN"].update(previous="0.8 as a ratio"), "is not a value like"),
    ],
)
def test_a_malformed_file_is_one_user_error(tmp_path, edit, message):
    data = yaml.safe_load(FILE.read_text())
    edit(data)
    with pytest.raises(UserError, match=message):
        thresholds.load(written(tmp_path, data))
