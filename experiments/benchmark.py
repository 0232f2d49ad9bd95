"""Speed and memory of the stacked trainer against sequential loops, and time to quality, in one process.

    python -m experiments.benchmark                 # writes results/benchmark.{md,json}
    python -m experiments.benchmark --task=quality  # writes results/time_to_quality.{md,json,png}

Speed (--task=speed): for every encoding x image size x number of models K
(Gaussian features m = 256, MLP 4 x 256 with BatchNorm, full batch, fp32 —
the default run's network; other --encodings with their own networks):
compile time; steady seconds per model-step of the stacked, scanned program;
model-steps/s; achieved GFLOP/s (the step's matmul FLOPs) and its ratio to
the machine's fp32 matmul peak and to the same matmuls run alone
(``matmuls_only``); the program's memory (XLA's buffer assignment); and the
speed-up over the same K models trained one after another, (a) by the
one-model step called in a Python loop and (b) by the one-model ``lax.scan``
program. The programs of a row take turns for --repeats rounds after one
warm-up each (this machine's speed drifts); each time is the median, with
the spread (max - min) / median.
Cells whose estimated time exceeds --budget_s are skipped and say so.
``--redraw`` rewrites the table from the saved JSON without measuring.

Time to quality (--task=quality): every encoding of --encodings, one model
(seed 0) at a time, trained as the default run trains it (grace_hopper at
--quality_size, memorize split, full batch, its default learning rate) for
--quality_steps steps after a compile-only warm-up; reports the steps and the
wall seconds (training plus the evaluation every --quality_eval_every steps)
until the train PSNR first reaches each of --thresholds, as a table and a plot.
"""

import dataclasses
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

import experiments
from nerf_toy_jax import data, encodings, metrics, results, sweep, train, viz
from nerf_toy_jax.model import HashGridMLP, matmul_flops

flags.DEFINE_enum("task", "speed", ["speed", "quality"], "speed: trainer throughput; quality: time to PSNR.")
flags.DEFINE_list("encodings", ["gaussian"], "Encodings (speed: their networks; quality: each one's default run).")
flags.DEFINE_list("sizes", ["32", "64", "128", "256"], "Image sides in pixels.")
flags.DEFINE_list("models", ["1", "2", "4", "8", "16", "64"], "Numbers of stacked models K.")
flags.DEFINE_integer("repeats", 3, "Timed repetitions per measurement (after one warm-up).")
flags.DEFINE_float("dispatch_s", 1.0, "Aim for timed dispatches of about this many seconds.")
flags.DEFINE_integer("min_steps", 4, "At least this many steps per dispatch: the work done once per dispatch "
                     "(features, hash-grid corners), which runs amortise over --eval_every steps, is shared by them.")
flags.DEFINE_float("budget_s", 60.0, "Skip cells whose measurements are estimated to take longer.")
flags.DEFINE_enum("compute_dtype", "float32", train.COMPUTE_DTYPES, "Speed: compute dtype of the networks' layers.")
flags.DEFINE_integer("baseline_models", 2, "Models timed for the sequential baselines (their rate is per model).")
flags.DEFINE_string("out", None, "Output path without extension; default results/benchmark (speed) or "
                    "results/time_to_quality (quality).")
flags.DEFINE_integer("quality_size", 64, "Quality: image side in pixels.")
flags.DEFINE_integer("quality_steps", 1000, "Quality: training steps of every model.")
flags.DEFINE_integer("quality_eval_every", 25, "Quality: steps between evaluations.")
flags.DEFINE_list("thresholds", ["25", "30", "35"], "Quality: train PSNRs (dB) to reach.")
flags.DEFINE_bool("redraw", False, "Only rewrite the .md table from the existing .json, measuring nothing.")
FLAGS = flags.FLAGS

MAPPING_SIZE = 256
PEAK_GUESS_GFLOPS = 100.0  # only to choose steps per dispatch and to skip cells over the budget


def timed(fns, repeats):
    """{name: (median, relative spread)} of the wall times of every ``fns[name]()``.

    Each function is called once to warm up; then the functions take turns,
    ``repeats`` rounds, so that drift of the machine's speed hits all alike.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: (float(np.median(t)), (max(t) - min(t)) / float(np.median(t))) for name, t in times.items()}


def matmul_peak():
    """(run, FLOPs): one fp32 4096 x 4096 matmul, the best square size XLA runs here."""
    a = jnp.asarray(np.random.default_rng(0).random((4096, 4096), np.float32))
    product = jax.jit(lambda x: x @ x)
    return lambda: product(a).block_until_ready(), 2 * 4096**3


def matmuls_only(model, input_dim, points, num_steps):
    """(run, FLOPs): ``num_steps`` steps of the training step's matmuls alone, in one ``lax.scan``.

    The network's Dense layers without biases, activations or BatchNorm, a
    linear loss, and a plain gradient step: the same products, weight
    gradients and input gradients as ``model.matmul_flops`` counts, and little
    else. Its rate is what this machine reaches on the network's own matmul
    shapes, the ceiling of the trainer's.
    """
    rng = np.random.default_rng(0)
    dims = [input_dim] + [model.width] * (model.depth - 1) + [model.channels]
    weights = [jnp.asarray(rng.normal(0, a ** -0.5, (a, b)), jnp.float32) for a, b in zip(dims[:-1], dims[1:])]
    inputs = jnp.asarray(rng.random((points, input_dim), np.float32))
    direction = jnp.asarray(rng.random((points, dims[-1]), np.float32))

    def loss(weights, inputs):
        for weight in weights:
            inputs = inputs @ weight
        return jnp.sum(inputs * direction)

    differentiate = (0, 1) if isinstance(model, HashGridMLP) else (0,)

    @jax.jit
    def steps(weights, inputs):
        def body(weights, _):
            grads = jax.grad(loss, argnums=differentiate)(weights, inputs)[0]
            return [w - 1e-9 * g for w, g in zip(weights, grads)], None
        return jax.lax.scan(body, weights, None, length=num_steps)[0]

    box = [weights]

    def run():
        box[0] = steps(box[0], inputs)
        jax.block_until_ready(box[0])

    return run, num_steps * matmul_flops(model, input_dim, points)


def chunk_runner(specs, split, config, num_steps):
    """(run, compile seconds, bytes): ``run()`` trains ``specs`` ``num_steps`` steps, continuing each call."""
    started = time.perf_counter()
    compiled, (states, *rest) = train.compile_chunk(specs, split, config, num_steps)
    compile_s = time.perf_counter() - started
    box = [states]

    def run():
        box[0], losses = compiled(box[0], *rest, jnp.int32(0))
        losses.block_until_ready()

    return run, compile_s, train.peak_bytes(compiled)


def measure(encoding, size, k, config, repeats):
    split = data.make_split(data.load_image(size=size), "memorize")
    points = size * size
    specs = [sweep.ModelSpec(encoding, mapping_size=MAPPING_SIZE, seed=i) for i in range(k)]
    model = train.make_model(config, 3, specs[0])
    flops = matmul_flops(model, specs[0].feature_dim, points)  # one model-step
    est_step_s = flops / (0.5 * PEAK_GUESS_GFLOPS * 1e9)
    steps = int(np.clip(FLAGS.dispatch_s / (est_step_s * k), FLAGS.min_steps, max(100, FLAGS.min_steps)))
    base_k = min(k, FLAGS.baseline_models)
    estimate = (repeats + 1) * steps * est_step_s * (k + 2 * base_k + 1)  # + the matmuls-only program
    row = {"encoding": encoding, "size": size, "models": k, "steps_per_dispatch": steps,
           "gflop_per_model_step": flops / 1e9}
    if estimate > FLAGS.budget_s:
        return {**row, "skipped": f"estimated {estimate:.0f} s > budget {FLAGS.budget_s:.0f} s"}

    run, compile_s, memory = chunk_runner(specs, split, config, steps)
    # sequential baselines on base_k of the models: the one-model programs, one model after another
    step_runs = [chunk_runner([spec], split, config, 1)[0] for spec in specs[:base_k]]
    scan_runs = [chunk_runner([spec], split, config, steps)[0] for spec in specs[:base_k]]

    def python_loop():
        for one in step_runs:
            for _ in range(steps):
                one()

    def scan_loop():
        for one in scan_runs:
            one()

    peak_run, peak_flops = matmul_peak()
    ceiling_run, ceiling_flops = matmuls_only(model, specs[0].feature_dim, points, steps)
    # measured in turns: this machine's speed drifts by up to 20 % within minutes
    times = timed({"stack": run, "python_loop": python_loop, "scan_loop": scan_loop, "peak": peak_run,
                   "ceiling": ceiling_run}, repeats)
    (median, spread), (loop_median, loop_spread), (scan_median, scan_spread) = (
        times["stack"], times["python_loop"], times["scan_loop"])
    peak, peak_spread = peak_flops / times["peak"][0] / 1e9, times["peak"][1]
    ceiling = ceiling_flops / times["ceiling"][0] / 1e9
    per_model_step = median / (k * steps)
    loop_per_model_step = loop_median / (base_k * steps)
    scan_per_model_step = scan_median / (base_k * steps)
    gflops = flops / per_model_step / 1e9
    return {
        **row,
        "compile_s": compile_s,
        "s_per_model_step": per_model_step,
        "spread": spread,
        "model_steps_per_s": 1.0 / per_model_step,
        "gflops": gflops,
        "peak_gflops": peak,
        "peak_spread": peak_spread,
        "peak_fraction": gflops / peak,
        "matmuls_only_gflops": ceiling,
        "matmuls_only_fraction": gflops / ceiling,
        "memory_mb": memory / 2**20,
        "memory_mb_per_model": memory / 2**20 / k,
        "python_loop_s_per_model_step": loop_per_model_step,
        "python_loop_spread": loop_spread,
        "scan_loop_s_per_model_step": scan_per_model_step,
        "scan_loop_spread": scan_spread,
        "speedup_vs_python_loop": loop_per_model_step / per_model_step,
        "speedup_vs_scan_loop": scan_per_model_step / per_model_step,
    }


def markdown(report):
    peaks = [row["peak_gflops"] for row in report["rows"] if "peak_gflops" in row] or [float("nan")]
    lines = [f"Device: {report['device_kind']} x {report['device_count']} ({report['platform']}). "
             "The fp32 matmul peak (4096 x 4096) is measured in the same process, in turns with each row's "
             f"programs, because this machine's speed drifts: {min(peaks):.0f} to {max(peaks):.0f} GFLOP/s "
             "over the run.",
             "",
             "Gaussian features m = 256, MLP 4 x 256 with BatchNorm (hash grid: its 2 x 64 MLP; SIREN: 4 x 256 "
             f"sine layers), full batch, {report.get('compute_dtype', 'float32')} layers. GFLOP/s count the "
             "step's matmuls (`model.matmul_flops`, equal to "
             "XLA's count of its dots). *Matmuls only* is one model's step reduced to those fp32 matmuls (no bias, "
             "activation, BatchNorm or Adam): the rate this machine reaches on the network's own matmul shapes. "
             f"Times are medians of {report['repeats']} rounds in which the stacked program, the two sequential "
             "baselines, the peak and the matmuls-only program take turns; spread = (max - min) / median. "
             "Speed-ups compare model-steps/s of the stacked program (vmap on accelerators, lax.map on CPU, see "
             "`train.map_models`) with the same models trained one after another by the one-model step in a "
             "Python loop, and by the one-model `lax.scan` program (the unstacked step, at the same steps per "
             "dispatch).",
             "",
             "| encoding | size | K | steps/dispatch | compile s | ms / model-step (spread) | model-steps/s "
             "| GFLOP/s | peak GFLOP/s | % of peak | matmuls-only GFLOP/s | % of matmuls only "
             "| memory MB (per model) | vs Python loop | vs scan loop |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        encoding = row.get("encoding", "gaussian")
        if "skipped" in row:
            lines.append(f"| {encoding} | {row['size']} | {row['models']} | | | skipped: {row['skipped']} "
                         "| | | | | | | | | |")
            continue
        lines.append(
            f"| {encoding} | {row['size']} | {row['models']} | {row['steps_per_dispatch']} | {row['compile_s']:.1f} "
            f"| {row['s_per_model_step'] * 1e3:.2f} ({row['spread']:.0%}) | {row['model_steps_per_s']:.1f} "
            f"| {row['gflops']:.1f} | {row['peak_gflops']:.0f} | {row['peak_fraction']:.0%} "
            f"| {row['matmuls_only_gflops']:.0f} | {row['matmuls_only_fraction']:.0%} "
            f"| {row['memory_mb']:.0f} ({row['memory_mb_per_model']:.0f}) "
            f"| {row['speedup_vs_python_loop']:.2f}x | {row['speedup_vs_scan_loop']:.2f}x |")
    lines += ["", f"Command: `{report['command']}` ({report['wall_s'] / 60:.1f} min)."]
    return "\n".join(lines) + "\n"


def time_to_quality(encoding_names, size, steps, eval_every, thresholds):
    """Trains each encoding's default model alone; returns per-encoding rows and curves (see the module doc)."""
    split = data.make_split(data.load_image(size=size), "memorize")
    config = train.TrainConfig(steps=steps, eval_every=eval_every)  # the default run's settings
    rows = []
    for name in encoding_names:
        spec = sweep.make_grid([name])[0]
        train.train_stack([spec], split, dataclasses.replace(config, steps=eval_every))  # compiles, untimed
        times = []
        result = train.train_stack([spec], split, config,
                                   on_eval=lambda step, scores: times.append(time.perf_counter()))
        seconds = np.asarray(times) - times[0]
        row = {"encoding": name, "label": spec.label, "lr": spec.lr, "ms_per_step": seconds[-1] / steps * 1e3,
               "final_train_psnr": float(result.train_psnr[0, -1]), "eval_steps": result.eval_steps.tolist(),
               "train_psnr": result.train_psnr[0].tolist(), "seconds": seconds.tolist(), "reach": {}}
        for threshold in thresholds:
            step = metrics.first_reaching(result.eval_steps, result.train_psnr, threshold)[0]
            at = None if np.isnan(step) else float(seconds[list(result.eval_steps).index(step)])
            row["reach"][f"{threshold:g}"] = {"step": None if np.isnan(step) else int(step), "seconds": at}
        rows.append(row)
        reached = ", ".join(f"{t} dB at step {r['step']} ({r['seconds']:.1f} s)" if r["step"] is not None
                            else f"{t} dB not reached" for t, r in row["reach"].items())
        print(f"{spec.label}: {row['ms_per_step']:.1f} ms/step, final train PSNR {row['final_train_psnr']:.2f} dB; "
              f"{reached}", flush=True)
    return rows


def quality_markdown(report):
    thresholds = list(report["rows"][0]["reach"])
    lines = [f"Device: {report['device_kind']} ({report['platform']}). grace_hopper at {report['size']} x "
             f"{report['size']} px, memorize split, full batch, {report['steps']} steps, one model at a time, each "
             "with its default network and learning rate; seconds count training plus the evaluation every "
             f"{report['eval_every']} steps, after compilation.", "",
             "| encoding | lr | ms / step | final train PSNR (dB) | "
             + " | ".join(f"steps to {t} dB | seconds to {t} dB" for t in thresholds) + " |",
             "|---|---|---|---|" + "---|---|" * len(thresholds)]
    for row in report["rows"]:
        cells = []
        for t in thresholds:
            reach = row["reach"][t]
            cells += ["-", "-"] if reach["step"] is None else [str(reach["step"]), f"{reach['seconds']:.2f}"]
        lines.append(f"| {row['label']} | {row['lr']:g} | {row['ms_per_step']:.1f} | {row['final_train_psnr']:.2f} | "
                     + " | ".join(cells) + " |")
    lines += ["", "A dash: not reached within the run.", "", f"Command: `{report['command']}` ({report['wall_s'] / 60:.1f} min)."]
    return "\n".join(lines) + "\n"


def quality_main(out):
    if FLAGS.redraw:
        report = results.load_json(out.with_suffix(".json"))
    else:
        started = time.perf_counter()
        thresholds = [float(t) for t in FLAGS.thresholds]
        rows = time_to_quality(FLAGS.encodings, FLAGS.quality_size, FLAGS.quality_steps, FLAGS.quality_eval_every,
                               thresholds)
        environment = results.environment()
        report = {"command": "python -m experiments.benchmark " + " ".join(sys.argv[1:]),
                  "device_kind": environment["device_kind"], "platform": environment["platform"],
                  "versions": environment["versions"], "size": FLAGS.quality_size, "steps": FLAGS.quality_steps,
                  "eval_every": FLAGS.quality_eval_every, "rows": rows, "wall_s": time.perf_counter() - started}
        results.write_json(out.with_suffix(".json"), report)
    results.write_text(out.with_suffix(".md"), quality_markdown(report))
    viz.time_to_quality_png(out.with_suffix(".png"), report)
    print(f"wrote {out.with_suffix('.md')}, .json and .png")


def checked_flags():
    """Validates the flags before any measurement; raises ValueError."""
    for name in FLAGS.encodings:
        if name not in encodings.ENCODINGS:
            raise ValueError(f"unknown encoding {name!r}: choose from {', '.join(encodings.ENCODINGS)}")
    if not FLAGS.encodings:
        raise ValueError("--encodings is empty")
    sizes = [int(size) for size in FLAGS.sizes]
    counts = [int(k) for k in FLAGS.models]
    thresholds = [float(t) for t in FLAGS.thresholds]
    if min(sizes) < 1 or min(counts) < 1 or FLAGS.repeats < 1 or FLAGS.min_steps < 1:
        raise ValueError("sizes, models, repeats and min_steps must be positive")
    if min(FLAGS.quality_size, FLAGS.quality_steps, FLAGS.quality_eval_every) < 1 or not thresholds:
        raise ValueError("--quality_size, --quality_steps and --quality_eval_every must be positive, "
                         "--thresholds not empty")
    return sizes, counts


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    out = pathlib.Path(FLAGS.out or ("results/benchmark" if FLAGS.task == "speed" else "results/time_to_quality"))
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
        results.write_text(out.with_suffix(".md"), markdown(results.load_json(out.with_suffix(".json"))))
        print(f"redrew {out.with_suffix('.md')}")
        return
    started = time.perf_counter()
    config = train.TrainConfig(compute_dtype=FLAGS.compute_dtype)
    rows = []
    for encoding in FLAGS.encodings:
        for size in sizes:
            for k in counts:
                row = measure(encoding, size, k, config, FLAGS.repeats)
                rows.append(row)
                if "skipped" in row:
                    print(f"{encoding} size {size} K {k}: skipped ({row['skipped']})")
                    continue
                print(f"{encoding} size {size} K {k}: {row['s_per_model_step'] * 1e3:.2f} ms/model-step, "
                      f"{row['gflops']:.1f} GFLOP/s ({row['peak_fraction']:.0%} of peak, "
                      f"{row['matmuls_only_fraction']:.0%} of matmuls only), "
                      f"{row['memory_mb']:.0f} MB, {row['speedup_vs_python_loop']:.2f}x Python loop, "
                      f"{row['speedup_vs_scan_loop']:.2f}x scan loop", flush=True)
    environment = results.environment()
    report = {"command": "python -m experiments.benchmark " + " ".join(sys.argv[1:]),
              "device_kind": environment["device_kind"], "device_count": environment["device_count"],
              "platform": environment["platform"], "versions": environment["versions"],
              "git_commit": environment["git_commit"], "repeats": FLAGS.repeats, "compute_dtype": FLAGS.compute_dtype,
              "rows": rows, "wall_s": time.perf_counter() - started}
    results.write_json(out.with_suffix(".json"), report)
    results.write_text(out.with_suffix(".md"), markdown(report))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    app.run(main)
