"""Your own data as a DVC dependency: a change to any file in europe.csv_dir or faces.image_dir makes `dvc status`
name the prepare stage and `dvc repro` read the folder again."""

import shutil
from pathlib import Path

import numpy as np
import pipeline_helpers as h
import pytest
import yaml
from conftest import ROOT
from PIL import Image


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository whose prepare stages read folders outside it, both prepared once."""
    outside = tmp_path_factory.mktemp("yours")
    shutil.copytree(ROOT / "examples" / "europe", outside / "csv")
    shutil.copytree(ROOT / "examples" / "faces", outside / "images")
    params = h.tiny_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    params["europe"].update(source="csv", csv_dir=str(outside / "csv"))
    params["faces"].update(source="folder", image_dir=str(outside / "images"), image_size=32)
    repo = h.make_repo(tmp_path_factory.mktemp("repo"), params)
    h.dvc(repo, "repro", "prepare_europe", "prepare_faces")
    assert _changed(repo) == set()
    return repo, outside


def _changed(repo) -> set[str]:
    """The prepare stages `dvc status` reports changed."""
    out = h.dvc(repo, "status", "prepare_europe", "prepare_faces").stdout
    return {name for name in ("prepare_europe", "prepare_faces") if f"{name}:" in out}


def test_one_edited_row_reruns_prepare_europe(repo):
    repo, outside = repo
    train = outside / "csv" / "train.csv"
    lines = train.read_text().splitlines()
    index, long, lat, country = lines[1].split(",")
    lines[1] = ",".join([index, f"{float(long) + 0.01:.6f}", lat, country])  # one point moved 1 km
    train.write_text("\n".join(lines) + "\n")
    assert _changed(repo) == {"prepare_europe"}
    assert "prepare_europe" in h.ran(h.dvc(repo, "repro", "prepare_europe"))
    assert (repo / "data" / "europe" / "train.csv").read_text() == train.read_text()
    assert _changed(repo) == set()


def test_one_deleted_image_reruns_prepare_faces(repo):
    repo, outside = repo
    extra = outside / "images" / "train" / "0_real" / "extra.png"
    Image.fromarray(np.full((40, 40, 3), 90, dtype=np.uint8)).save(extra)
    h.dvc(repo, "repro", "prepare_faces")
    extra.unlink()
    assert _changed(repo) == {"prepare_faces"}
    h.dvc(repo, "repro", "prepare_faces")
    names = yaml.safe_load((repo / "data" / "faces" / "cache" / "index.json").read_text())["train"]["names"]
    assert "train/0_real/extra.png" not in names and len(names) == 2


def test_the_embedded_defaults_need_no_folder_of_yours():
    """The default folders are the examples in the repository, tracked by git: every clone has them."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for folder in (params["europe"]["csv_dir"], params["faces"]["image_dir"]):
        assert (ROOT / folder).is_dir() and not Path(folder).is_absolute()
    assert params["europe"]["source"] == "embedded" and params["faces"]["source"] == "embedded"


def test_a_failed_repro_deletes_the_stage_outputs_as_the_docs_say(repo):
    """dvc repro clears a stage's outputs before it runs it: after a failure they are gone, not as they were."""
    repo, outside = repo
    doc = (ROOT / "docs" / "your-data.md").read_text()
    assert "`dvc repro` and `dvc exp run` delete a stage's outputs before they run it" in doc
    h.dvc(repo, "repro", "prepare_europe")
    train = outside / "csv" / "train.csv"
    good = train.read_text()
    train.write_text(good.replace(",", ";", 3))
    try:
        failed = h.dvc(repo, "repro", "prepare_europe", check=False)
        assert failed.returncode != 0 and "train.csv" in failed.stderr + failed.stdout
        assert not (repo / "data" / "europe").exists()
    finally:
        train.write_text(good)
    h.dvc(repo, "checkout", "--force", "prepare_europe")
    assert (repo / "data" / "europe" / "train.csv").read_text() == good


def test_points_outside_europe_warn_with_their_count(capsys):
    from nnrepro import log
    from nnrepro.europe import points

    log.setup()  # as every stage does: warnings as one 'warning: ' line on stderr

    frame = points.read_split(ROOT / "examples" / "europe" / "train.csv")
    frame.loc[:2, "lat"] = 10.0  # three points in Africa
    points.check_inside_europe("train.csv", frame)
    assert capsys.readouterr().err.strip() == (
        "warning: train.csv: 3 of 66 points lie outside the Europe box (long -11..41, lat 34..72): kept, but the "
        "maps show only the box"
    )
