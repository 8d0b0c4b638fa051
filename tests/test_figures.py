"""Each report figure on tiny synthetic results: the file exists, is a PNG, and draws the right series."""

import numpy as np
import pytest

import synthetic_results as synth
from nnrepro import figures, results


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return synth.build(tmp_path_factory.mktemp("results"))


def png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    return data


def labels(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_lr_sweep_one_line_per_lr_and_diverged_run_dashed(tree, tmp_path):
    sweep = results.lr_sweep(tree / "metrics/mlp_lr", tree / "plots/mlp_lr", synth.PARAMS)
    fig = figures.lr_sweep(sweep[False], "sweep", tmp_path / "a.png")
    png(tmp_path / "a.png")
    ax = fig.axes[0]
    assert labels(ax) == ["lr=1 (diverged)", "lr=0.01", "lr=0.0001"]
    assert ax.get_lines()[0].get_linestyle() == "--" and ax.get_legend() is not None
    assert ax.get_title() == "sweep" and ax.get_xlabel() == "epoch"


def test_same_series_same_colour_across_figures(tree, tmp_path):
    sweep = results.lr_sweep(tree / "metrics/mlp_lr", tree / "plots/mlp_lr", synth.PARAMS)
    plain = figures.lr_sweep(sweep[False], "a", tmp_path / "a.png").axes[0]
    bn = figures.lr_sweep(sweep[True], "b", tmp_path / "b.png").axes[0]
    colour = {l.get_label().split(" ")[0]: l.get_color() for l in plain.get_lines() if l.get_label()[0] != "_"}
    assert colour == {l.get_label(): l.get_color() for l in bn.get_lines()}


def test_split_losses_and_batch_pairs(tree, tmp_path):
    long = results.named_runs(tree / "metrics/mlp_long.json", tree / "plots/mlp_long")
    fig = figures.split_losses(long["plain"]["history"], "long", tmp_path / "l.png")
    assert labels(fig.axes[0]) == ["train", "validation", "test"]
    pairs = results.batch_pairs(tree / "metrics/mlp_batch.json", tree / "plots/mlp_batch",
                                tree / "timings/mlp_batch.json")
    fig = figures.batch_pairs(pairs, "test/acc", "accuracy", "pairs", tmp_path / "p.png")
    assert len(labels(fig.axes[0])) == 3 and labels(fig.axes[0])[0] == "batch 1, 1 epoch(s)"
    fig = figures.seconds_per_epoch(pairs, tmp_path / "s.png")
    assert [p.get_height() for p in fig.axes[0].patches] == [50.0, 5.0, 0.5]
    for name in ("l", "p", "s"):
        png(tmp_path / f"{name}.png")


def test_gradients_log_scale_with_zeros_on_a_floor(tmp_path):
    variants = {"plain": {0: np.array([0.0, 0.0, 1e-9]), 9: np.array([1e-2, 1e-1, 1.0])},
                "residual": {0: np.array([1e-3, 1e-3, 1e-3]), 9: np.array([1e-2, 1e-2, 1e-2])}}
    fig = figures.gradients(variants, "Fig. 13", tmp_path / "g.png")
    png(tmp_path / "g.png")
    plain, residual = fig.axes
    assert plain.get_yscale() == "log" and len(labels(plain)) == 2 and len(labels(residual)) == 2
    assert labels(plain)[0] == "layer 0 (2 of 3 epochs exactly 0)"
    floor = figures.gradient_floor(variants)
    assert floor == pytest.approx(1e-10)
    assert np.allclose(plain.get_lines()[0].get_ydata()[:2], floor)  # zeros drawn, at the floor


def test_cnn_accuracy_one_line_per_baseline_and_xgboost_reference(tree, tmp_path):
    cnn = results.cnn_cells(tree / "metrics/cnn", tree / "metrics/xgboost.json", synth.PARAMS)
    fig = figures.cnn_accuracy(cnn["cells"], cnn["xgboost"], tmp_path / "c.png")
    png(tmp_path / "c.png")
    assert labels(fig.axes[0]) == ["scratch", "probe", "finetune", "XGBoost", "chance"]
    assert fig.axes[0].get_xscale() == "log"


def test_accuracy_slice_boundaries_and_faces(tree, tmp_path):
    ev = results.evaluation(tree / "metrics/evaluate.json", tree / "plots/evaluate", boundaries=True)
    fig = figures.accuracy_slice(ev["acc_vs_depth"], "depth", "width 16", "acc", tmp_path / "d.png")
    assert labels(fig.axes[0]) == ["validation", "test"] and len(fig.axes[0].get_lines()[0].get_xdata()) == 2
    europe = results.europe_test(tree / "data/europe/outlines.json", tree / "data/europe/test.csv")
    sine = results.sine_boundaries(tree / "metrics/mlp_sine.json", tree / "plots/mlp_sine")
    fig = figures.boundaries(sine, europe["points"], europe["outlines"], "features", tmp_path / "b.png")
    assert len(fig.axes) == 2 and "test accuracy 0.900" in fig.axes[1].get_title()
    from nnrepro import faces

    fig = figures.faces_samples(faces.load_cache(tree / "data/faces/cache.pt")["test"], tmp_path / "f.png",
                                per_class=3)
    assert labels(fig.axes[-1]) == ["real", "fake"] and len(fig.axes) == 6 + 3
    for name in ("d", "b", "f"):
        png(tmp_path / f"{name}.png")


def test_power_spectrum_sees_high_frequencies():
    smooth = np.zeros((2, 3, 16, 16), dtype=np.uint8) + np.linspace(0, 255, 16, dtype=np.uint8)
    checker = (np.indices((16, 16)).sum(0) % 2 * 255).astype(np.uint8)[None, None].repeat(3, 1).repeat(2, 0)
    high = lambda images: figures.radial_profile(figures.power_spectrum(images))[-3:].mean()
    assert high(checker) > high(smooth)


def test_render_all_draws_every_captioned_figure(tree, tmp_path):
    from nnrepro import faces

    data = {
        "lr_sweep": results.lr_sweep(tree / "metrics/mlp_lr", tree / "plots/mlp_lr", synth.PARAMS),
        "long": results.named_runs(tree / "metrics/mlp_long.json", tree / "plots/mlp_long"),
        "batch": results.batch_pairs(tree / "metrics/mlp_batch.json", tree / "plots/mlp_batch",
                                     tree / "timings/mlp_batch.json"),
        "evaluation": results.evaluation(tree / "metrics/evaluate.json", tree / "plots/evaluate", True),
        "gradients": results.gradient_norms(tree / "plots/grad_probe"),
        "sine": results.sine_boundaries(tree / "metrics/mlp_sine.json", tree / "plots/mlp_sine"),
        "europe": results.europe_test(tree / "data/europe/outlines.json", tree / "data/europe/test.csv"),
        "cnn": results.cnn_cells(tree / "metrics/cnn", tree / "metrics/xgboost.json", synth.PARAMS),
        "faces": faces.load_cache(tree / "data/faces/cache.pt")["test"],
    }
    drawn = figures.render_all(data, tmp_path, dpi=30)
    assert set(drawn) == set(figures.CAPTIONS)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(f"{n}.png" for n in figures.CAPTIONS)
    for fig in drawn.values():
        assert all(ax.get_title() or not ax.get_xlabel() for ax in fig.axes)
    first = (tmp_path / "fig01_lr_sweep.png").read_bytes()
    figures.render_all(data, tmp_path, dpi=30)
    assert (tmp_path / "fig01_lr_sweep.png").read_bytes() == first  # no timestamps: reruns are identical


def test_figures_stage_end_to_end(tree, stage):
    result = stage("figures.py", synth.stage_args("figures"), tree, synth.PARAMS)
    assert result.returncode == 0, result.stderr
    assert len(list((tree / "plots/figures").glob("fig*.png"))) == len(figures.CAPTIONS)


def test_figures_stage_missing_input_is_one_line(tree, stage, tmp_path):
    result = stage("figures.py", synth.stage_args("figures"), tmp_path, synth.PARAMS)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "is missing: run `dvc repro`" in lines[0]
