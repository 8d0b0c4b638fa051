"""Every report figure on tiny synthetic results: a PNG that draws the series it promises; the stage end to end."""

import numpy as np
import pytest
import synthetic_results as synth
from matplotlib.collections import PolyCollection

from nnrepro.report import figures, readback

PNG = b"\x89PNG\r\n\x1a\n"
DPI = synth.PARAMS["figures"]["dpi"]


@pytest.fixture(scope="module")
def tree(synthetic_tree):
    """The synthetic tree, the figures stage already run on it (conftest.py)."""
    return synthetic_tree


@pytest.fixture(scope="module")
def data(tree) -> dict:
    """What stages/figures.py hands render_all, read back through readback from dvc.yaml's paths."""
    paths = synth.stage_paths("figures", tree)
    (_, evaluate), (sine_metrics, sine_folder) = paths["evaluate"], paths["mlp_sine"]
    facts = readback.facts(paths)
    readback.grid_replicates(facts["grid"]["cells"], paths["grid_metrics"])
    return {
        "facts": facts,
        "boundaries": {
            **{r: readback.boundary(evaluate / f"{r}_boundary.npz") for r in ("best", "worst")},
            **{n: readback.boundary(sine_folder / f"{n}_boundary.npz") for n in ("xy", "sine")},
        },
        "sine": readback.read_json(sine_metrics),
        "europe": readback.europe(*paths["europe"]),
        "faces": readback.images(paths["faces"])["test"],
        "claims": readback.read_json(paths["claims"]),
    }


@pytest.fixture(scope="module")
def rendered(data, tmp_path_factory) -> tuple:
    """(folder, {name: Figure}) of one render_all."""
    out = tmp_path_factory.mktemp("figures")
    return out, figures.render_all(data, out, DPI)


def is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG


def labelled(ax) -> list:
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def labels(ax) -> list:
    return [line.get_label() for line in labelled(ax)]


def test_render_all_draws_every_captioned_figure_as_a_png(rendered):
    out, drawn = rendered
    assert set(drawn) == set(figures.CAPTIONS)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.png" for name in figures.CAPTIONS)
    assert all(is_png(out / f"{name}.png") for name in figures.CAPTIONS)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("fig01_lr_sweep", ["lr=1 (diverged)", "lr=0.01", "lr=0.0001"]),
        ("fig03_lr_sweep_batchnorm", ["lr=1", "lr=0.01", "lr=0.0001"]),
    ],
)
def test_lr_sweep_one_line_per_lr_on_a_log_loss_axis(rendered, name, expected):
    ax = rendered[1][name].axes[0]
    assert labels(ax) == expected and ax.get_yscale() == "log"
    assert [line.get_linestyle() == "--" for line in labelled(ax)] == ["diverged" in e for e in expected]


def test_diverged_run_stops_where_it_diverged_and_is_marked(rendered):
    ax = rendered[1]["fig01_lr_sweep"].axes[0]
    diverged = labelled(ax)[0]
    assert list(diverged.get_xdata()) == [1.0, 2.0]  # its third evaluation was NaN: not drawn
    marks = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [2.0]


@pytest.mark.parametrize(
    "name", ["fig02_long_run", "fig04_long_run_batchnorm", "fig07_best_grid_loss", "fig09_worst_grid_loss"]
)
def test_split_losses_draw_train_validation_test_each_with_its_own_linestyle(rendered, name):
    ax = rendered[1][name].axes[0]
    assert labels(ax) == ["train", "validation", "test"]
    assert len({line.get_linestyle() for line in labelled(ax)}) == 3
    assert len({len(line.get_xdata()) for line in labelled(ax)}) == 1


def test_grid_loss_titles_name_the_chosen_cells(rendered):
    assert "d6-w32" in rendered[1]["fig07_best_grid_loss"].axes[0].get_title()
    assert "d1-w16" in rendered[1]["fig09_worst_grid_loss"].axes[0].get_title()


@pytest.mark.parametrize("name", ["fig05_batch_test_accuracy", "fig06_batch_test_loss"])
def test_every_batch_pair_has_a_point_at_the_first_evaluation(rendered, name):
    ax = rendered[1][name].axes[0]
    assert labels(ax) == ["batch 1, 1 epoch(s)", "batch 16, 1 epoch(s)", "batch 128, 3 epoch(s)"]
    assert [line.get_xdata()[0] for line in labelled(ax)] == [0.25] * 3  # initial values compare
    assert [line.get_xdata()[-1] for line in labelled(ax)] == [1.0, 1.0, 3.0]
    diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert [list(d.get_xdata()) for d in diamonds] == [[0.25]] * 3
    assert ax.get_xscale() == "log"


@pytest.mark.parametrize(
    "name, axis, values, at",
    [
        ("fig11_acc_vs_depth", "depth", [1, 2, 6, 10], "width 16"),
        ("fig12_acc_vs_width", "width", [8, 16, 32, 64], "depth 6"),
    ],
)
def test_accuracy_slices_hold_the_other_axis_at_the_evaluate_stage_value(rendered, name, axis, values, at):
    ax = rendered[1][name].axes[0]
    assert labels(ax) == ["train", "validation", "test"] and at in ax.get_title()
    assert len({line.get_linestyle() for line in labelled(ax)}) == 3
    fixed = {"depth": synth.PARAMS["mlp"]["width"], "width": synth.PARAMS["mlp"]["depth"]}[axis]
    cells = [(v, fixed) if axis == "depth" else (fixed, v) for v in values]
    for i, line in enumerate(labelled(ax)):
        assert list(line.get_xdata()) == values
        assert list(line.get_ydata()) == pytest.approx([synth.grid_accuracy(*c)[i] for c in cells])


def test_gradients_plain_beside_residual_on_log_axes(rendered):
    top_plain, top_residual, dead_plain, dead_residual = rendered[1]["fig13_gradients"].axes
    assert "plain" in top_plain.get_title() and "residual" in top_residual.get_title()
    assert "plain" in dead_plain.get_title() and "residual" in dead_residual.get_title()
    layers = synth.PARAMS["grad_probe"]["layers"]
    for ax in (top_plain, top_residual):
        assert ax.get_yscale() == "log"
        assert len(labelled(ax)) == len(layers)
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bands) == len(layers)  # a min-max band over seeds per layer


def test_gradient_zeros_drawn_at_the_floor_and_counted_in_the_legend(rendered):
    top_plain, top_residual = rendered[1]["fig13_gradients"].axes[:2]
    floor = 1e-10  # a decade below the smallest positive squared norm (1e-9)
    assert labels(top_plain)[0] == "layer 0 (6 of 9 values exactly 0)"
    assert [t.get_text() for t in top_plain.get_legend().get_texts()][0] == labels(top_plain)[0]
    # median over the 3 seeds of layer 0: 0, 0, then 1e-9; the zeros sit on the floor, not off the axis
    assert list(labelled(top_plain)[0].get_ydata()) == pytest.approx([floor, floor, 1e-9])
    assert any(list(line.get_ydata()) == [floor, floor] for line in top_plain.get_lines())  # the floor line
    assert not any("exactly 0" in label for label in labels(top_residual))


def test_dead_fraction_panels_stay_in_zero_one(rendered):
    for ax in rendered[1]["fig13_gradients"].axes[2:]:
        assert ax.get_yscale() == "linear"
        low, high = ax.get_ylim()
        assert low <= 0 and high >= 1
        assert all(0 <= y <= 1 for line in labelled(ax) for y in line.get_ydata())


def test_gradient_floor_is_a_decade_under_the_smallest_positive_value():
    assert figures.gradient_floor([np.array([0.0, 3e-7]), np.array([2e-3])]) == pytest.approx(1e-8)
    assert figures.gradient_floor([np.zeros(4)]) == pytest.approx(1e-12)  # nothing positive: a fixed floor


def test_cnn_accuracy_one_line_per_baseline_plus_xgboost_and_chance(rendered):
    ax = rendered[1]["fig14_cnn_lr"].axes[0]
    assert labels(ax) == ["scratch", "probe", "finetune", "XGBoost", "chance"]
    lines = dict(zip(labels(ax), labelled(ax)))
    assert set(lines["XGBoost"].get_ydata()) == {synth.XGBOOST["test_acc"]}
    assert set(lines["chance"].get_ydata()) == {0.5}
    assert ax.get_xscale() == "log"
    assert list(lines["probe"].get_xdata()) == sorted(synth.PARAMS["cnn"]["lrs"])
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x" and len(line.get_xdata())]
    assert [list(c.get_xdata()) for c in crosses] == [[0.1]]  # the diverged fine-tune cell


def test_cnn_accuracy_bands_the_seeds_of_cells_run_over_seeds(tmp_path):
    one = {"test_acc": 0.7, "diverged": False}
    seeded = {lr: {**one, "replicates": [{"test_acc": 0.6 + lr}, {"test_acc": 0.8}]} for lr in (0.01, 0.1)}
    fig = figures.cnn_accuracy(
        {"probe": seeded, "finetune": {0.01: one, 0.1: one}}, {"test_acc": 0.6}, tmp_path / "f.png", 20
    )
    (band,) = fig.axes[0].collections  # the probe's; the one-seed baseline has none
    low, high = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
    assert (low, high) == (pytest.approx(0.61), pytest.approx(0.8))


def test_boundary_figures_one_map_per_model(rendered, data):
    drawn = rendered[1]
    assert "d6-w32" in drawn["fig08_best_grid_boundary"].axes[0].get_title()
    assert "d1-w16" in drawn["fig10_worst_grid_boundary"].axes[0].get_title()
    sine = drawn["fig16_sine_boundaries"].axes
    assert sorted(ax.get_title() for ax in sine) == [
        f"{name} features (test accuracy {data['sine'][name]['final_test_acc']:.3f})" for name in ("sine", "xy")
    ]
    assert all(len(ax.get_images()) == 1 for ax in sine)


def test_heatmap_marks_the_diverged_cell(rendered):
    texts = [t.get_text() for t in rendered[1]["fig15_grid_heatmap"].axes[0].texts]
    assert len(texts) == 16 and texts.count("—") == 1  # d1-w64 diverged


def test_faces_samples_show_both_classes_and_their_spectra(rendered):
    fig = rendered[1]["fig17_faces_samples"]
    assert labels(fig.axes[-1]) == ["real", "fake"]
    titles = [ax.get_title() for ax in fig.axes]
    assert any("real" in t for t in titles) and any("fake" in t for t in titles)


@pytest.mark.parametrize("rank, cell, count", [("best", "finetune-0.0001", 1), ("worst", "scratch-0.001", 3)])
def test_misclassified_grid_titled_with_its_count(rendered, data, rank, cell, count):
    fig = rendered[1][f"misclassified_{rank}"]
    assert data["facts"]["cnn"]["selection"]["misclassified"][rank]["cell"] == cell
    assert fig.get_suptitle() == f"{cell} ({rank} model): {count} of 8 test images misclassified"
    assert sum(len(ax.get_images()) for ax in fig.axes) == count


def test_power_spectrum_sees_high_frequencies():
    smooth = np.zeros((2, 3, 16, 16), dtype=np.uint8) + np.linspace(0, 255, 16, dtype=np.uint8)
    checker = (np.indices((16, 16)).sum(0) % 2 * 255).astype(np.uint8)[None, None].repeat(3, 1).repeat(2, 0)

    def high(images: np.ndarray) -> float:
        return figures.radial_profile(figures.power_spectrum(images))[-3:].mean()

    assert high(checker) > high(smooth)


def test_figures_stage_end_to_end_matches_render_all_byte_for_byte(tree, rendered):
    for name in figures.CAPTIONS:  # another process, the same bytes: no timestamp or version in a PNG
        assert (tree / "plots/figures" / f"{name}.png").read_bytes() == (rendered[0] / f"{name}.png").read_bytes()


def test_figures_stage_missing_input_is_one_error_line_and_writes_nothing(tree, stage):
    swap = {"plots/grad_probe": "plots/nowhere", "plots/figures": "plots/figures_not_written"}
    result = stage("figures.py", [swap.get(a, a) for a in synth.stage_args("figures")], tree, None)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "plots/nowhere/probe.json" in lines[0]
    assert not (tree / "plots/figures_not_written").exists()


def test_a_run_of_several_seeds_draws_its_mean_and_a_min_max_band(tmp_path):
    from matplotlib.collections import PolyCollection

    def history(values):
        return {"epoch": [1.0, 2.0, 3.0], "validation_loss": values, "diverged": False}

    replicates = [history([3.0, 2.0, 1.0]), history([5.0, 4.0, 2.0])]
    run = {**history([4.0, 3.0, 1.5]), "replicates": replicates}
    fig = figures.lr_sweep({0.01: run}, "sweep", tmp_path / "band.png", 20)
    (band,) = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == 1.0 and ys.max() == 5.0  # min of the lower replicate, max of the upper
    single = figures.lr_sweep({0.01: {**run, "replicates": replicates[:1]}}, "sweep", tmp_path / "one.png", 20)
    assert not [c for c in single.axes[0].collections if isinstance(c, PolyCollection)]


def forest_claim(section: str, verdict: str, effect=None, noise=None, interval=None, margin=0.0) -> dict:
    return {
        "section": section,
        "verdict": verdict,
        "effect": effect,
        "noise": noise,
        "interval": interval,
        "margin": margin,
    }


def test_the_verdict_forest_draws_each_claim_in_noise_units_coloured_by_verdict_and_grouped(tmp_path):
    claims = {
        "a": forest_claim("1.1.1", "holds", effect=0.3, noise=0.1, interval=[0.1, 0.5]),
        "b": forest_claim("2.1", "does not hold", effect=-0.2, noise=0.05, interval=[-0.3, -0.1], margin=0.1),
        "c": forest_claim("1.1.1", "cannot be judged"),  # missing: no noise, a hollow marker at 0
    }
    fig = figures.verdict_forest(claims, tmp_path / "forest.png", 20)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "c", "b"]  # grouped by section, then in order
    assert [t.get_text() for t in ax.texts] == ["1.1.1", "2.1"]
    drawn = [line for line in ax.get_lines() if line.get_color() in figures.VERDICT_COLORS.values()]
    whiskers = [line for line in drawn if len(line.get_xdata()) == 2]
    assert [tuple(w.get_xdata()) for w in whiskers] == [pytest.approx((1.0, 5.0)), pytest.approx((-8.0, -4.0))]
    assert [w.get_color() for w in whiskers] == ["tab:green", "tab:red"]
    hollow = [line for line in ax.get_lines() if line.get_markerfacecolor() == "none"]
    assert len(hollow) == 1 and hollow[0].get_xdata()[0] == 0 and hollow[0].get_color() == "tab:gray"
    assert (tmp_path / "forest.png").read_bytes()[:8] == PNG


def test_the_verdict_forest_of_the_stage_shows_every_claim(rendered, data):
    ax = rendered[1]["fig18_verdicts"].axes[0]
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == sorted(data["claims"])


def test_accuracy_slices_band_each_split_over_the_cells_seeds(tmp_path):
    def cell(depth, accs):
        reps = [{f"final_{s}_acc": a for s in ("train", "validation", "test")} for a in accs]
        return {
            "depth": depth,
            **{f"final_{s}_acc": float(np.mean(accs)) for s in ("train", "validation", "test")},
            "replicates": reps,
        }

    rows = [cell(1, [0.5, 0.7]), cell(2, [0.8, 0.9])]
    fig = figures.accuracy_slice(rows, "depth", "width 32", "Fig. 11", tmp_path / "slice.png", 20)
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3
    ys = bands[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.5) and ys.max() == pytest.approx(0.9)
    one = [{**r, "replicates": r["replicates"][:1]} for r in rows]
    fig = figures.accuracy_slice(one, "depth", "width 32", "Fig. 11", tmp_path / "one.png", 20)
    assert not [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
