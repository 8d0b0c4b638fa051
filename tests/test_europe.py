import json

import numpy as np
import pandas as pd
import pytest
import shapely

from nnrepro.errors import UserError
from nnrepro.europe import points

SIZES = {"train": 400, "validation": 80, "test": 80}


@pytest.fixture(scope="module")
def frames():
    return points.generate(SIZES, seed=1)


@pytest.fixture(scope="module")
def shapes():
    return points.country_shapes()


def test_same_seed_same_bytes_other_seed_differs(frames):
    again = points.generate(SIZES, seed=1)
    other = points.generate(SIZES, seed=2)
    for split in points.SPLITS:
        assert points.to_csv_text(frames[split]) == points.to_csv_text(again[split])
        assert points.to_csv_text(frames[split]) != points.to_csv_text(other[split])


def test_each_split_draws_from_its_own_stream(frames):
    """A larger training split leaves validation and test byte-identical: each split has a generator of its own."""
    grown = points.generate({**SIZES, "train": SIZES["train"] + 33}, seed=1)
    assert len(grown["train"]) == SIZES["train"] + 33
    assert points.to_csv_text(grown["train"]) != points.to_csv_text(frames["train"])
    for split in ("validation", "test"):
        assert points.to_csv_text(grown[split]) == points.to_csv_text(frames[split])
    smaller_test = points.generate({**SIZES, "test": SIZES["test"] - 33}, seed=1)
    for split in ("train", "validation"):
        assert points.to_csv_text(smaller_test[split]) == points.to_csv_text(frames[split])


def test_every_class_in_every_split_with_area_proportions(frames):
    for split, frame in frames.items():
        assert len(frame) == SIZES[split]
        assert set(frame["country"]) == set(range(points.NUM_CLASSES))
    counts = frames["train"]["country"].value_counts()
    name = dict((n, i) for i, (n, _) in enumerate(points.COUNTRIES))
    assert counts[name["France"]] > 5 * counts[name["Slovenia"]]
    assert counts[name["Ukraine"]] > counts[name["Germany"]] > counts[name["Belgium"]]


def test_points_fall_inside_their_country(frames, shapes):
    frame = frames["train"]
    for label, (_, iso) in enumerate(points.COUNTRIES):
        rows = frame[frame["country"] == label]
        assert shapely.contains_xy(shapes[iso], rows["long"], rows["lat"]).all(), iso


def test_shapes_are_clipped_to_mainland_europe(shapes):
    lon0, lat0, lon1, lat1 = shapely.union_all(list(shapes.values())).bounds
    assert lon0 >= -11 and lon1 <= 41 and lat0 >= 34 and lat1 <= 72
    assert not shapes["FR"].is_empty and not shapes["NO"].is_empty  # ISO_A2 is -99 for these two


def test_allocate_sums_and_keeps_one_per_class():
    counts = points.allocate(40, np.array([100.0] + [0.001] * 32))
    assert counts.sum() == 40 and counts.min() == 1 and counts[0] == 8


def test_csv_has_the_course_format(tmp_path, frames):
    path = tmp_path / "train.csv"
    path.write_text(points.to_csv_text(frames["train"]))
    assert path.read_text().splitlines()[0] == ",long,lat,country"
    back = points.read_split(path)
    assert back["country"].dtype == np.int64
    np.testing.assert_allclose(back["long"], frames["train"]["long"], atol=1e-6)


GOOD = ",long,lat,country\n0,2.35,48.85,11\n1,13.4,52.5,12\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (",long,lat\n0,2.3,48.8\n", "missing column 'country'"),
        (",long,lat,country,extra\n0,2.3,48.8,11,1\n", "unexpected column 'extra'"),
        (",long,lat,country\n0,abc,48.8,11\n", "line 2, column 'long': 'abc' is not a finite number"),
        (",long,lat,country\n0,2.3,48.8,11\n1,2.3,nan,11\n", "line 3, column 'lat': 'nan' is not a finite"),
        (",long,lat,country\n0,inf,48.8,11\n", "'inf' is not a finite number"),
        (",long,lat,country\n0,2.3,95.0,11\n", "outside the globe"),
        (",long,lat,country\n0,2.3,48.8,France\n", "'France' is not an integer label"),
        (",long,lat,country\n0,2.3,48.8,11.5\n", "'11.5' is not an integer label"),
        (",long,lat,country\n0,2.3,48.8,33\n", "label 33 is outside 0..32"),
        (",long,lat,country\n", "has no rows"),
        ("", "cannot be parsed"),
    ],
)
def test_bad_csv_gives_one_clear_line(tmp_path, text, expected):
    path = tmp_path / "train.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=expected) as err:
        points.read_split(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(UserError, match="validation.csv not found"):
        points.read_split(tmp_path / "validation.csv")


def test_conflicting_duplicates_warn_not_fail(tmp_path, caplog):
    path = tmp_path / "train.csv"
    path.write_text(",long,lat,country\n0,2.3,48.8,11\n1,2.3,48.8,12\n2,13.4,52.5,12\n")
    assert len(points.read_split(path)) == 3
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"{path}: 1 point(s) appear with different labels (kept as they are)")
    ]


def test_class_absent_from_train(tmp_path):
    with pytest.raises(UserError, match=r"no point of class 0 \(Albania\)"):
        points.check_all_classes(tmp_path / "train.csv", np.arange(1, 33))


def _params(source="embedded", csv_dir="", data_seed=3, first=0):
    return {
        "data_seed": data_seed,
        "replicates": {"first": first, "mlp": 2, "grad_probe": 2, "probe": 2, "cnn": 1},
        "europe": {"source": source, "csv_dir": str(csv_dir), "n_train": 200, "n_validation": 40, "n_test": 40},
    }


def test_the_data_follow_data_seed_and_never_the_replicates_seeds(tmp_path, stage):
    """replicates.first (a new seed set) leaves the data byte-identical; data_seed draws new data."""
    made = {}
    for name, values in {"base": _params(), "first": _params(first=100), "data": _params(data_seed=4)}.items():
        folder = tmp_path / name
        folder.mkdir()
        assert stage("prepare_europe.py", ["--out", folder / "out"], folder, values).returncode == 0
        made[name] = {p.name: p.read_bytes() for p in (folder / "out").iterdir()}
    assert made["first"] == made["base"]
    assert all(made["data"][f"{split}.csv"] != made["base"][f"{split}.csv"] for split in points.SPLITS)


def test_stage_end_to_end_embedded(tmp_path, stage):
    result = stage("prepare_europe.py", ["--out", tmp_path / "out"], tmp_path, _params())
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    for split, n in [("train", 200), ("validation", 40), ("test", 40)]:
        assert len(pd.read_csv(out / f"{split}.csv", index_col=0)) == n
    countries = json.loads((out / "countries.json").read_text())
    assert countries[13] == {"id": 13, "name": "Great Britain", "iso": "GB"}
    assert len(json.loads((out / "outlines.json").read_text())) == 33


def test_stage_copies_valid_user_csvs(tmp_path, stage):
    frames = points.generate({"train": 100, "validation": 40, "test": 40}, seed=5)
    user = tmp_path / "user"
    user.mkdir()
    for split, frame in frames.items():
        (user / f"{split}.csv").write_text(points.to_csv_text(frame))
    result = stage("prepare_europe.py", ["--out", tmp_path / "out"], tmp_path, _params("csv", user))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "test.csv").read_text() == (user / "test.csv").read_text()


def test_failed_run_keeps_previous_outputs(tmp_path, stage):
    out = tmp_path / "out"
    assert stage("prepare_europe.py", ["--out", out], tmp_path, _params()).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    user = tmp_path / "user"
    user.mkdir()
    (user / "train.csv").write_text(GOOD)
    (user / "validation.csv").write_text(GOOD)
    (user / "test.csv").write_text(",long,lat,country\n0,2.3,48.8,99\n")
    result = stage("prepare_europe.py", ["--out", out], tmp_path, _params("csv", user))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "train.csv has no point of class" in lines[-1]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
