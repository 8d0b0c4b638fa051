"""bench/RESULTS.md from bench/results.json (bench/run.py) and, when present, bench/gpu.json (bench/gpu.py) and
bench/gpu_pipeline.json (bench/gpu_pipeline.py),
measuring nothing. Usage: python bench/render.py"""

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS_JSON, GPU_JSON, RESULTS_MD = BENCH / "results.json", BENCH / "gpu.json", BENCH / "RESULTS.md"
PIPELINE_JSON = BENCH / "gpu_pipeline.json"


# ---------------------------------------------------------------- CPU: results.json

def now_cells(r: dict) -> dict:
    """Figure -> the 'now' cell of its goal row; every absolute time names the CPU."""
    on = f"on {r['cpu']}"
    cells = {}
    if r["repro_naive_epochs"] is not None:
        cells["repro_naive_epochs"] = (f"{r['repro_naive_epochs']:.0f} naive epochs ({r['repro_s']:.0f} s {on}; "
                                       f"one naive epoch {r['naive_epoch_s']:.2f} s)")
    if r["exp_lr_fraction"] is not None:
        cells["exp_lr_fraction"] = f"{r['exp_lr_fraction']:.0%} ({r['exp_lr_s']:.0f} s {on})"
    if r["batch1_ratio"] is not None:
        b = r["cases"]["batch1"]
        cells["batch1_ratio"] = f"{b['ratio']:.1f}x (naive {b['naive']:.2f} s, ours {b['ours']:.2f} s {on})"
    if r["xgboost_ratio"] is not None:
        cells["xgboost_ratio"] = (f"{r['xgboost_ratio']:.2f}x (stage {r['xgboost_s']:.1f} s, library "
                                  f"{r['xgboost_library_s']:.1f} s {on})")
    if r["noop_over_floor"] is not None:
        cells["noop_over_floor"] = (f"{r['noop_over_floor']:.2f}x (no-op {r['noop_s']:.2f} s in {r['noop_in']}, "
                                    f"DVC's floor for {r['stage_count']} stages {r['dvc_floor_s']:.2f} s, {on})")
    if r.get("stacked_ratio") is not None:
        plain, bn = r["stacked"], r["stacked"].get("batchnorm")
        cells["stacked_ratio"] = (f"{plain['stacked_ratio']:.2f}x (one by one {plain['one_by_one_s']:.2f} s, stacked "
                                  f"{plain['stacked_s']:.2f} s {on})" + (
                                      f"; BatchNorm nets {bn['stacked_ratio']:.2f}x ({bn['one_by_one_s']:.2f} s, "
                                      f"{bn['stacked_s']:.2f} s)" if bn else "") + (
                                      f"; plain nets one by one through autograd {auto['stacked_ratio']:.2f}x"
                                      if (auto := plain.get("vs_autograd")) else ""))
    return cells


def met_cell(judged: dict) -> str:
    return {None: "not measured", True: "yes", False: "no"}[judged["met"]]


def goal_rows(r: dict) -> list[str]:
    now = now_cells(r)
    rows = ["| figure | now | goal | met |", "|---|---|---|---|"]
    for key, judged in r["goals"].items():
        rows.append(f"| {judged['figure']} | {now.get(key, 'not measured')} | {judged['goal']} | {met_cell(judged)} |")
    return rows


def case_rows(r: dict) -> list[str]:
    lines = ["", f"## Side by side, on {r['cpu']}", "",
             f"Naive and ours alternate, {r['repeats']} repeat{'s' * (r['repeats'] != 1)} each; medians."]
    if not r["cases"]:
        return lines[:-1] + ["Not measured (every case skipped)."]
    lines += ["", "| case | naive | ours | ratio (naive / ours) | naive result | our result |",
              "|---|---|---|---|---|---|"]
    for c in r["cases"].values():
        lines.append(f"| {c['case']} | {c['naive']:.2f} s | {c['ours']:.2f} s | {c['ratio']:.1f}x | "
                     f"{c['acc_naive']} | {c['acc_ours']} |")
    return lines


def stage_rows(r: dict) -> list[str]:
    lines = ["", f"## Whole default `dvc repro` from scratch, per stage, on {r['cpu']}", ""]
    if r["stages"] is None:
        return lines + ["Not measured (`--skip repro`)."]
    lines += [f"Total {r['repro_s']:.0f} s in a fresh `git clone`; peak memory of one stage {r['peak_mb']:.0f} MB.",
              "", "| stage (timings file) | seconds |", "|---|---|"]
    return lines + [f"| {name} | {seconds:.1f} |" for name, seconds in r["stages"].items()]


def cpu_part(r: dict) -> list[str]:
    measured = ", ".join(f"{name} {version}" for name, version in r["versions"].items() if version)
    return ["# Benchmark results", "",
            f"Measured by `make bench` (`python bench/run.py`) on {r['date']}: {r['cpu']}, {r['cores']} cores; "
            f"{measured}; skipped: {', '.join(r['skipped']) or 'nothing'}. Rendered from [results.json](results.json) "
            "(and [gpu.json](gpu.json)) by `python bench/render.py`.", ""] + goal_rows(r) + case_rows(r) + stage_rows(r)


# ---------------------------------------------------------------- GPU: gpu.json

def gpu_setup(g: dict) -> str:
    sizes, lrs = g["sizes"], g["lrs"]
    generated = (f"generated at {g['generate_px']} px and upsampled to {g['image_px']} px on the device (bilinear)"
                 if g["generate_px"] != g["image_px"] else f"generated at {g['image_px']} px")
    return (f"Measured {g['date']} by `{g['command']}` on {g['device']}: torch {g['versions']['torch']}, torchvision "
            f"{g['versions']['torchvision']}. ResNet18, {g['weights']}. {sizes['train']:,} / {sizes['validation']:,} "
            f"/ {sizes['test']:,} images {generated} ({g['images']}); generating took {g['generate_s']:.1f} s and "
            f"writing the PNGs {g['png_s']:.1f} s, outside every timing below. Batch {g['batch']}, {g['epochs']} "
            f"epoch, {len(lrs)} learning rate{'s' * (len(lrs) > 1)}. Ours: cnn.probe_features / cell_net / "
            "train_cell / evaluate_cell, uint8 images on the device once, bf16 autocast + channels_last on CUDA. "
            "Course-style: bench/naive.py's cell (ImageFolder + PIL transforms + DataLoader, fp32, .item() per "
            "batch) on the same device.")


def gpu_table(g: dict) -> list[str]:
    train, infer, ft, sweep = g["train_img_s"], g["eval_img_s"], g["finetune_cell"], g["sweep_s"]
    n_cells, n_all = 3 * len(g["lrs"]), sum(g["sizes"].values())
    swept = f"{sweep['course']:.1f}" + (f" (extrapolated: 1 cell per baseline measured, x {len(g['lrs'])} lrs)"
                                        if sweep["course_extrapolated"] else "")
    return [
        "| case | ours | course-style | speedup |", "|---|---|---|---|",
        f"| training, img/s (scratch + finetune cells, {g['sizes']['train'] * g['epochs']:,} images each) | "
        f"{train['ours']:,.0f} | {train['course']:,.0f} | {train['ours'] / train['course']:.1f}x |",
        f"| inference, img/s (validation + test, scratch + finetune cells) | {infer['ours']:,.0f} | "
        f"{infer['course']:,.0f} | {infer['ours'] / infer['course']:.1f}x |",
        f"| probe features: {n_all:,} images through the frozen backbone once, s | {g['probe_s']:.2f} | "
        "none: the backbone runs in every probe cell's batches | - |",
        f"| one finetune cell at lr {ft['lr']:g} (build, train, evaluate), s | {ft['ours_s']:.2f} | "
        f"{ft['course_s']:.2f} | {ft['course_s'] / ft['ours_s']:.1f}x |",
        f"| test accuracy of that cell | {ft['ours_test_acc']:.3f} | {ft['course_test_acc']:.3f} | - |",
        f"| that cell streamed from the memory-mapped cache (budget below its size), build + train, s / test "
        f"accuracy | {g['streamed_cell']['cell_s']:.2f} / {g['streamed_cell']['test_acc']:.3f} | - | - |",
        f"| whole {n_cells}-cell sweep, s | {sweep['ours']:.2f} | {swept} | {sweep['course'] / sweep['ours']:.1f}x |",
    ]


def gpu_goals(g: dict) -> list[str]:
    shown = {"sweep_s": f"{g['sweep_s']['ours']:.1f} s",
             "train_img_s": f"{g['train_img_s']['ours']:,.0f} img/s at batch {g['batch']}"}
    names = {"sweep_s": f"whole {3 * len(g['lrs'])}-cell sweep", "train_img_s": "training"}
    verdict = {True: "met", False: "missed", None: "cannot be judged (smoke run or not CUDA)"}
    return [f"- {names[key]} {goal['goal']}: {verdict[goal['met']]} ({shown[key]})"
            for key, goal in g["goals"].items()]


def gpu_findings(f: dict) -> list[str]:
    """The hand-made measurements kept in gpu.json's 'findings' (profiler, cuDNN autotuning, a larger batch)."""
    if not f:
        return []
    p, c = f["profile_batch_32"], f["cudnn_benchmark"]
    return [
        "", f"Measured by hand on {f['device']} ({f['date']}; {f['origin']}):",
        f"- Training at batch 256: about {f['train_img_s_batch_256']:,} img/s. torch.profiler of one warm cell at "
        f"batch 32: {p['cpu_ms']} ms of CPU time against {p['gpu_ms']} ms of GPU time for {p['steps']} steps, "
        f"{p['kernel_launches']:,} kernel launches: ResNet18 at batch 32 is launch-bound in eager PyTorch; CUDA graphs "
        "(torch.compile, mode reduce-overhead) would be the next lever, but their compile time exceeds a one-epoch "
        "cell's whole run.",
        f"- cuDNN autotuning (`cudnn.benchmark`) cost {c['first_cell_s']['32']} s in the first cell at batch 32 and "
        f"{c['first_cell_s']['256']} s at batch 256, and every pipeline cell is a process of its own: it is off "
        f"({c['warm_scratch_img_s']['on']:,} -> {c['warm_scratch_img_s']['off']:,} img/s for a warm scratch cell).",
    ]


def gpu_part(g: dict | None) -> list[str]:
    if g is None:
        return ["", "## GPU check", "", "Not measured: no bench/gpu.json (`python bench/gpu.py` on a CUDA machine)."]
    title = f"## GPU check: CNN sweep at {g['image_px']} px on {g['device']}{' (smoke)' * g['smoke']}"
    origin = [f"({g['origin']})", ""] if g.get("origin") else []
    return (["", title, "", *origin, gpu_setup(g), ""] + gpu_table(g) + ["", *gpu_goals(g)]
            + gpu_findings(g.get("findings", {})))


# ---------------------------------------------------------------- GPU: gpu_pipeline.json

def stage_cells(stages: dict) -> str:
    return ", ".join(f"{name} {s['wall_s']:.1f}" for name, s in stages.items())


def pipeline_table(p: dict, sweep_gpu_py: float | None) -> list[str]:
    d, c, side = p["default"], p["course"], p["side_by_side"]
    beside = f" (bench/gpu.py's 15 cells in one warm process: {sweep_gpu_py:.1f} s)" if sweep_gpu_py else ""
    return [
        "| step | s |", "|---|---|",
        f"| `dvc repro {' '.join(p['stages'])}` at params.yaml's values, from nothing (ran: {', '.join(d['ran'])}) "
        f"| {d['repro_s']:.1f} |",
        f"| of which each stage's own wall seconds: {stage_cells(d['stages'])} | "
        f"{sum(s['wall_s'] for s in d['stages'].values()):.1f} |",
        f"| `dvc repro -s cnn_evaluate` (best and worst cells, misclassified images) | {d['cnn_evaluate_s']:.1f} |",
        f"| the same `dvc repro` again: ran {', '.join(p['noop']['ran']) or 'nothing'} | {p['noop']['repro_s']:.1f} |",
        f"| the course's scale ({', '.join(f'{k} {v}' for k, v in c['params'].items())}, {c['weights']}): "
        f"`dvc repro` (ran: {', '.join(c['ran'])}) | {c['repro_s']:.1f} |",
        f"| of which the 15 cells' seconds inside their stages (the sweep){beside} | {c['sweep_s']:.1f} |",
        f"| side by side ({side['params']} params): the three CNN stages' commands one after another | "
        f"{side['one_by_one_total_s']:.1f} |",
        f"| the same three started at once on the one GPU ({side['ratio']:.2f}x) | {side['together_s']:.1f} |",
    ]


def pipeline_findings(f: dict) -> list[str]:
    if not f:
        return []
    before, side = f["default_channels_last"], f["side_by_side_default"]
    lines = ["", f"Measured by hand on {f['device']} ({f['date']}; {f['origin']}):",
             f"- Before MobileNetV2 was kept in the default layout, the default `dvc repro` took "
             f"{before['default']['repro_s']:.1f} s ({stage_cells(before['default']['stages'])}).",
             f"- Side by side at the default params: {side['one_by_one_total_s']:.1f} s one after another, "
             f"{side['together_s']:.1f} s at once ({side['ratio']:.2f}x).",
             f"- Memory layout ({f['layouts_note']}):", "",
             "| variant | arch | px | probe_features s | three cells' training s | test accuracy |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['arch']} | {r['px']} | {r['probe_features_s']:.2f} | "
              f"{' / '.join(f'{t:.2f}' for t in r['cells_train_s'])} | "
              f"{' / '.join(f'{a:.3f}' for a in r['cells_test_acc'])} |" for r in f["layouts"]]
    return lines


def pipeline_part(p: dict | None, gpu: dict | None) -> list[str]:
    if p is None:
        return ["", "## GPU pipeline", "", "Not measured: no bench/gpu_pipeline.json (`python bench/gpu_pipeline.py` "
                "on a CUDA machine)."]
    v = p["versions"]
    setup = (f"Measured {p['date']} by bench/gpu_pipeline.py on {p['device']} ({p['cpu_count']} CPU cores; "
             f"{p['origin']}): dvc {v['dvc']}, dvclive {v['dvclive']}, torch {v['torch']}, torchvision "
             f"{v['torchvision']}, in a scratch copy of the project ({p['scm']}). Seconds are wall-clock around each "
             "command, process start-up, imports and DVC's own work included.")
    sweep = gpu["sweep_s"]["ours"] if gpu and not gpu["smoke"] else None
    return (["", f"## GPU pipeline: the CNN half through `dvc repro` on {p['device']}{' (smoke)' * p['smoke']}", "",
             setup, ""] + pipeline_table(p, sweep) + pipeline_findings(p.get("findings", {})))


# Why the figures are what they are; every number is in the parts above, rendered from the JSON files.
NOTES = """## How the figures are made
- MLP epoch at batch 256 against the naive loop: the first side-by-side row.
- Batch size 1: `fastmlp` (a hand-written forward and backward, autograd's gradients bit for bit on plain nets,
  tested) and `fastmlp.Adam` (torch's fused Adam kernel without the optimizer's per-step Python) replace
  autograd for every MLP without BatchNorm; Python's cyclic GC is paused in the step loop. PROFILE.md splits
  the step. Absolute step times on these shared 2-core machines move by +-30% from run to run: the ratio is a
  median of alternating runs.
- Whole default `dvc repro`: counted in naive epochs (the median naive epoch of the same run) so that the goal
  does not move with the CPU. Both cores train: the MLP stages run their independent models one process per
  core (grad_probe's 10 runs, mlp_long's plain and BatchNorm, mlp_batch's pairs, mlp_sine's two inputs, and
  every mlp_grid cell, the grid being one stage for that reason); the CNN and XGBoost stages use every core
  through their libraries' threads.
- `dvc exp run -S lr=0.01` reruns only the stages that read `lr` and those downstream of them; the data, the
  learning-rate sweep, the CNN and XGBoost stages do not read it and are skipped as unchanged.
- XGBoost stage: its timings file's wall seconds (from after the imports to the written outputs) against
  DMatrix, training and prediction alone on the same pixels and threads.
- No-op `dvc repro`: median of 5, alternating with DVC's floor, the same no-op on a throwaway project with as many
  trivial stages (`dvc stage list` of the pipeline, matrix cells counted), run once and committed. It runs in the
  whole repro's clone, or with `--skip repro` in a fresh clone run once on shrunk sizes (every list kept: the
  same stages and cells). DVC parses dvc.yaml and dvc.lock with ruamel.yaml's `typ="safe"` loader for every
  stage; `ruamel.yaml.clib` (pinned in constraints.txt) gives it the C parser, without which ruamel.yaml falls back
  to pure Python.
- GPU: measured by bench/gpu.py on a GPU, not by `make bench`; its figures are the GPU check above, from gpu.json.
  `PYTHONPATH=src python bench/gpu.py` on a CUDA machine (offline; needs only torch, torchvision, numpy and
  Pillow) runs the 15-cell CNN sweep with ResNet18 at 224 px on the course's 1,400 / 200 / 400 generated images
  (random weights where no ImageNet file is found offline) beside bench/naive.py's course-style cell, and writes
  training and inference img/s, the sweep's wall time, the speedup and whether the goals (sweep <= 15 s on one
  H100/H200, training >= 10,000 img/s) are met; `--batch 256` tries a larger batch. `--device cpu --smoke`
  checks the script on a CPU.
- GPU pipeline: `python bench/gpu_pipeline.py` on a CUDA machine runs the CNN half through `dvc repro` itself in a
  scratch copy of the project and writes gpu_pipeline.json. A GPU image with torch but no DVC gets it from the
  wheels `python bench/gpu_wheels.py` writes here (dvc, dvclive and what they pull in, for CPython 3.12).
  The pipeline's sweep is slower than bench/gpu.py's because each stage is a process of its own that starts
  CUDA, cuDNN and its kernels cold, where bench/gpu.py warms up once and runs all 15 cells in one process.
  `--smoke` checks the script on a CPU."""


def render(results: dict, gpu: dict | None, pipeline: dict | None = None) -> str:
    """RESULTS.md: goals, side-by-side cases, per-stage seconds, the GPU check and pipeline, then the notes."""
    lines = cpu_part(results) + gpu_part(gpu) + pipeline_part(pipeline, gpu)
    lines += ["", "Batch size 1 per part of the step: [PROFILE.md](PROFILE.md) (`python bench/profile_batch1.py`).",
              "", NOTES]
    return "\n".join(lines) + "\n"


def main() -> None:
    if not RESULTS_JSON.exists():
        sys.exit(f"{RESULTS_JSON} not found: run `python bench/run.py` first")
    gpu, pipeline = (json.loads(path.read_text()) if path.exists() else None for path in (GPU_JSON, PIPELINE_JSON))
    RESULTS_MD.write_text(render(json.loads(RESULTS_JSON.read_text()), gpu, pipeline))
    print(RESULTS_MD.read_text())


if __name__ == "__main__":
    main()
