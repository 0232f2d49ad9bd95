"""Speed and memory of the stacked trainer against sequential loops, and time to quality (``nerf_toy_jax.speed``).

    python -m experiments.benchmark                 # writes runs/benchmark.{md,json}
    python -m experiments.benchmark --task=quality  # writes runs/time_to_quality.{md,json,png}

The committed reports were written with --out=results/benchmark and --out=results/time_to_quality.

Speed (--task=speed): for every encoding x stacking x image size x number of
models K (Gaussian features m = 256, MLP 4 x 256 with BatchNorm, full batch,
fp32 — the default run's network; other --encodings with their own
networks): compile time; steady seconds per model-step of the stacked,
scanned program; model-steps/s; achieved GFLOP/s (the step's matmul FLOPs)
and its ratio to the machine's fp32 matmul peak and to the same matmuls run
alone (``matmuls_only``); the program's memory (XLA's buffer assignment);
and the speed-up over the same K models trained one after another, (a) by
the jitted one-model step called in a Python loop on features computed once,
as a careful user's loop would, and (b) by the one-model ``lax.scan``
program. The programs of a row take turns for --repeats rounds after one
warm-up each (machine speed drifts); each time is the median, with the
spread (max - min) / median. --stackings=map,vmap measures both ways of
running a stack (``parallel.map_models``) side by side.
Cells whose estimated time exceeds --budget_s are skipped and say so.
``--redraw`` rewrites the table from the saved JSON without measuring.

Time to quality (--task=quality): every encoding of --encodings, one model
(seed 0) at a time, each with its best network (the classic encodings on
Tancik et al.'s MLP without BatchNorm, which fits faster; the hash grid and
SIREN on their own), grace_hopper at --quality_size, memorize split, full
batch, its default learning rate, for --quality_steps steps; reports the
steps until the train PSNR (evaluated every --quality_eval_every steps)
first reaches each of --thresholds and the seconds they take, from the time
per step of the training program alone (timed apart from evaluation), as a
table and a plot.
"""

import pathlib
import sys
import time

from absl import app, flags

import experiments
from experiments.parsing import RUNS
from nerf_toy_jax import encodings, rundir, speed, state, viz

flags.DEFINE_enum("task", "speed", ["speed", "quality"], "speed: trainer throughput; quality: time to PSNR.")
flags.DEFINE_list("encodings", ["gaussian"], "Encodings (speed: their networks; quality: each one's default run).")
flags.DEFINE_list("sizes", ["32", "64", "128", "256"], "Image sides in pixels.")
flags.DEFINE_list("models", ["1", "2", "4", "8", "16", "64"], "Numbers of stacked models K.")
flags.DEFINE_integer("repeats", 3, "Timed repetitions per measurement (after one warm-up).")
flags.DEFINE_float("dispatch_s", 1.0, "Aim for timed dispatches of about this many seconds.")
flags.DEFINE_integer("min_steps", 4, "At least this many steps per dispatch: the work done once per dispatch "
                     "(features, hash-grid corners), which runs amortise over --eval_every steps, is shared by them.")
flags.DEFINE_float("budget_s", 60.0, "Skip cells whose measurements are estimated to take longer.")
flags.DEFINE_enum("compute_dtype", "float32", state.COMPUTE_DTYPES, "Speed: compute dtype of the networks' layers.")
flags.DEFINE_list("stackings", ["auto"], "Speed: how stacks run (state.STACKINGS); several measure them side by side.")
flags.DEFINE_integer("peak_side", 4096, "Speed: side of the square float32 matmul that measures the peak.")
flags.DEFINE_integer("baseline_models", 2, "Models timed for the sequential baselines (their rate is per model).")
flags.DEFINE_string("out", None, "Output path without extension; default runs/benchmark (speed) or "
                    "runs/time_to_quality (quality); the committed reports are written with --out=results/NAME.")
flags.DEFINE_integer("quality_size", 64, "Quality: image side in pixels.")
flags.DEFINE_integer("quality_steps", 1000, "Quality: training steps of every model.")
flags.DEFINE_integer("quality_eval_every", 25, "Quality: steps between evaluations.")
flags.DEFINE_list("thresholds", ["25", "30", "35"], "Quality: train PSNRs (dB) to reach.")
flags.DEFINE_bool("redraw", False, "Only rewrite the .md table from the existing .json, measuring nothing.")
FLAGS = flags.FLAGS


def quality_main(out):
    if FLAGS.redraw:
        report = rundir.load_json(out.with_suffix(".json"))
    else:
        started = time.perf_counter()
        thresholds = [float(t) for t in FLAGS.thresholds]
        rows = speed.time_to_quality(FLAGS.encodings, FLAGS.quality_size, FLAGS.quality_steps, FLAGS.quality_eval_every,
                               thresholds)
        environment = rundir.environment()
        report = {"command": "python -m experiments.benchmark " + " ".join(sys.argv[1:]),
                  "device_kind": environment["device_kind"], "platform": environment["platform"],
                  "host_cpu": environment["host_cpu"], "cpu_count": environment["cpu_count"],
                  "versions": environment["versions"], "size": FLAGS.quality_size, "steps": FLAGS.quality_steps,
                  "eval_every": FLAGS.quality_eval_every, "rows": rows, "wall_s": time.perf_counter() - started}
        rundir.write_json(out.with_suffix(".json"), report)
    rundir.write_text(out.with_suffix(".md"), speed.quality_markdown(report))
    viz.time_to_quality_png(out.with_suffix(".png"), report)
    print(f"wrote {out.with_suffix('.md')}, .json and .png")


def checked_flags():
    """Validates the flags before any measurement; raises ValueError."""
    for name in FLAGS.encodings:
        if name not in encodings.NAMES:
            raise ValueError(f"unknown encoding {name!r}: choose from {', '.join(encodings.NAMES)}")
    if not FLAGS.encodings:
        raise ValueError("--encodings is empty")
    sizes = [int(size) for size in FLAGS.sizes]
    counts = [int(k) for k in FLAGS.models]
    thresholds = [float(t) for t in FLAGS.thresholds]
    if min(sizes) < 1 or min(counts) < 1 or min(FLAGS.repeats, FLAGS.min_steps, FLAGS.peak_side) < 1:
        raise ValueError("sizes, models, repeats, min_steps and peak_side must be positive")
    for name in FLAGS.stackings:
        if name not in state.STACKINGS:
            raise ValueError(f"unknown stacking {name!r}: choose from {', '.join(state.STACKINGS)}")
    if min(FLAGS.quality_size, FLAGS.quality_steps, FLAGS.quality_eval_every) < 1 or not thresholds:
        raise ValueError("--quality_size, --quality_steps and --quality_eval_every must be positive, "
                         "--thresholds not empty")
    return sizes, counts


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    out = pathlib.Path(FLAGS.out or pathlib.Path(RUNS) / ("benchmark" if FLAGS.task == "speed" else "time_to_quality"))
    try:
        sizes, counts = checked_flags()
        if FLAGS.redraw and not out.with_suffix(".json").is_file():
            raise ValueError(f"nothing to redraw: {out.with_suffix('.json')} does not exist")
    except ValueError as error:
        print(f"benchmark.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    if FLAGS.task == "quality":
        quality_main(out)
        return
    if FLAGS.redraw:
        rundir.write_text(out.with_suffix(".md"), speed.markdown(rundir.load_json(out.with_suffix(".json"))))
        print(f"redrew {out.with_suffix('.md')}")
        return
    timing = speed.Timing(FLAGS.repeats, FLAGS.dispatch_s, FLAGS.min_steps, FLAGS.baseline_models, FLAGS.budget_s,
                          speed.measured_peak(FLAGS.peak_side), FLAGS.peak_side)
    report = speed.speed_report(FLAGS.encodings, FLAGS.stackings, sizes, counts, FLAGS.compute_dtype, timing,
                          "python -m experiments.benchmark " + " ".join(sys.argv[1:]))
    rundir.write_json(out.with_suffix(".json"), report)
    rundir.write_text(out.with_suffix(".md"), speed.markdown(report))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
