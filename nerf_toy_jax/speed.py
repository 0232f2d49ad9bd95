"""Speed of the stacked trainer, measured in one process: throughput tables and time to quality.

``speed_report`` times, for every encoding x image size x number of models K x
stacking, the stacked scanned program against the same models trained one
after another (the jitted one-model step called from Python on features
computed once, and the one-model ``lax.scan`` program), against the
machine's matmul peak and against the network's matmuls alone. The programs
of a cell take turns (``timed``), because a machine's speed drifts within
minutes. ``time_to_quality`` trains each encoding alone and reports the steps
and seconds it needs to reach given train PSNRs. ``experiments.benchmark``
and ``experiments.device_check`` are the programs that run them.
"""

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from nerf_toy_jax import cost, data, metrics, parallel, rundir, specs as specs_lib, state, train

MAPPING_SIZE = 256  # Gaussian rows m of the timed networks


@dataclasses.dataclass(frozen=True)
class Timing:
    """How the speed task times: --repeats, --dispatch_s, --min_steps, --baseline_models, --budget_s; the
    matmul rate that sets steps per dispatch and predicts which cells exceed the budget; and the side of
    the square matmul that measures the peak."""

    repeats: int
    dispatch_s: float
    min_steps: int
    baseline_models: int
    budget_s: float
    guess_gflops: float
    peak_side: int = 4096


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


def matmul_peak(side=4096):
    """(run, FLOPs): one float32 side x side matmul at the backend's default precision (4096: the best
    square size XLA:CPU runs)."""
    a = jnp.asarray(np.random.default_rng(0).random((side, side), np.float32))
    product = jax.jit(lambda x: x @ x)
    return lambda: product(a).block_until_ready(), 2 * side**3


def matmuls_only(encoding, model, points, dim, num_steps):
    """(run, FLOPs): ``num_steps`` steps of the training step's matmuls alone, in one ``lax.scan``, on
    ``points`` points of ``dim`` coordinate axes.

    The network's Dense layers without biases, activations or BatchNorm, a
    linear loss, and a plain gradient step: the same products, weight
    gradients and input gradients as ``Encoding.flops`` counts, and little
    else. Its rate is what this machine reaches on the network's own matmul
    shapes, the ceiling of the trainer's.
    """
    rng = np.random.default_rng(0)
    input_dim = encoding.feature_dim(dim)
    dims = [input_dim] + [model.width] * (model.depth - 1) + [model.channels]
    weights = [jnp.asarray(rng.normal(0, a ** -0.5, (a, b)), jnp.float32) for a, b in zip(dims[:-1], dims[1:])]
    inputs = jnp.asarray(rng.random((points, input_dim), np.float32))
    direction = jnp.asarray(rng.random((points, dims[-1]), np.float32))

    def loss(weights, inputs):
        for weight in weights:
            inputs = inputs @ weight
        return jnp.sum(inputs * direction)

    differentiate = (0, 1) if encoding.trainable_features else (0,)

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

    return run, num_steps * encoding.flops(model, points, dim)


def step_loop_runner(spec, split, config, num_steps):
    """``run()``: ``num_steps`` calls of the jitted one-model step from Python, on features computed once."""
    model = spec.encoding.network(config, split.image.shape[-1])
    states, matrices, coords, targets = train.chunk_inputs([spec], split, config)
    features = jax.jit(model.inputs)(coords, None if matrices is None else matrices[0])
    step = jax.jit(functools.partial(train.train_step, model, spec.encoding.optimizer, config.batch_size, config.remat),
                   donate_argnums=(0,))
    box = [jax.tree_util.tree_map(lambda x: x[0], states)]

    def run():
        for index in range(num_steps):
            box[0], loss = step(box[0], jnp.int32(index), features, targets)
        loss.block_until_ready()

    return run


def chunk_runner(specs, split, config, num_steps):
    """(run, compile seconds, bytes): ``run()`` trains ``specs`` ``num_steps`` steps, continuing each call."""
    started = time.perf_counter()
    compiled, (states, *rest) = train.compile_chunk(specs, split, config, num_steps)
    compile_s = time.perf_counter() - started
    box = [states]

    def run():
        box[0], losses = compiled(box[0], *rest, jnp.int32(0))
        losses.block_until_ready()

    return run, compile_s, cost.peak_bytes(compiled)


def measure(encoding, size, k, config, timing):
    """One row of the speed table: ``k`` models of ``encoding`` at ``size`` px under ``config``."""
    split = data.make_split(data.load_image(size=size), "memorize")
    points = size * size
    specs = specs_lib.make_grid([encoding], seeds=range(k), params={"mapping_size": MAPPING_SIZE})
    model = specs[0].encoding.network(config, 3)
    flops = specs[0].encoding.flops(model, points, split.dim)  # one model-step
    est_step_s = flops / (0.5 * timing.guess_gflops * 1e9)
    steps = int(np.clip(timing.dispatch_s / (est_step_s * k), timing.min_steps, max(100, timing.min_steps)))
    base_k = min(k, timing.baseline_models)
    estimate = (timing.repeats + 1) * steps * est_step_s * (k + 2 * base_k + 1)  # + the matmuls-only program
    row = {"encoding": encoding, "stacking": parallel.resolved_stacking(config.stacking), "size": size, "models": k,
           "steps_per_dispatch": steps, "gflop_per_model_step": flops / 1e9}
    if estimate > timing.budget_s:
        return {**row, "skipped": f"estimated {estimate:.0f} s > budget {timing.budget_s:.0f} s"}

    run, compile_s, memory = chunk_runner(specs, split, config, steps)
    # sequential baselines on base_k of the models: the one-model programs, one model after another
    step_runs = [step_loop_runner(spec, split, config, steps) for spec in specs[:base_k]]
    scan_runs = [chunk_runner([spec], split, config, steps)[0] for spec in specs[:base_k]]

    def python_loop():
        for one in step_runs:
            one()

    def scan_loop():
        for one in scan_runs:
            one()

    peak_run, peak_flops = matmul_peak(timing.peak_side)
    ceiling_run, ceiling_flops = matmuls_only(specs[0].encoding, model, points, split.dim, steps)
    # measured in turns, so that drift of the machine's speed hits all alike
    times = timed({"stack": run, "python_loop": python_loop, "scan_loop": scan_loop, "peak": peak_run,
                   "ceiling": ceiling_run}, timing.repeats)
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
    lines = [f"Device: {report['device_kind']} x {report['device_count']} ({report['platform']}; host "
             f"{report['host_cpu']}, {report['cpu_count']} cores). "
             f"The matmul peak (float32 {report['peak_side']} x {report['peak_side']} at the backend's default "
             "precision) is measured in the same process, in turns with each row's programs, because a "
             f"machine's speed drifts: it ranged from {min(peaks):.0f} to {max(peaks):.0f} GFLOP/s over the run, "
             "so a percentage of it is as uncertain.",
             "",
             "Gaussian features m = 256, MLP 4 x 256 with BatchNorm (hash grid: its 2 x 64 MLP; SIREN: 4 x 256 "
             f"sine layers), full batch, {report['compute_dtype']} layers. GFLOP/s count the "
             "step's matmuls (`Encoding.flops`, equal to "
             "XLA's count of its dots). *Matmuls only* is one model's step reduced to those fp32 matmuls (no bias, "
             "activation, BatchNorm or Adam): the rate this machine reaches on the network's own matmul shapes. "
             f"Times are medians of {report['repeats']} rounds in which the stacked program, the two sequential "
             "baselines, the peak and the matmuls-only program take turns; spread = (max - min) / median. "
             "Speed-ups compare model-steps/s of the stacked program (its models run side by side, vmap, or one "
             "after another, map: `parallel.map_models`) with the same models trained one after another by the "
             "jitted one-model step called in a Python loop on features computed once, and by the one-model "
             "`lax.scan` program (the unstacked step, at the same steps per dispatch).",
             "",
             "| encoding | stacking | size | K | steps/dispatch | compile s | ms / model-step (spread) "
             "| model-steps/s | GFLOP/s | peak GFLOP/s | % of peak | matmuls-only GFLOP/s | % of matmuls only "
             "| memory MB (per model) | vs Python loop | vs scan loop |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in report["rows"]:
        encoding, stacking = row["encoding"], row["stacking"]
        if "skipped" in row:
            lines.append(f"| {encoding} | {stacking} | {row['size']} | {row['models']} | | | skipped: {row['skipped']} "
                         "| | | | | | | | | |")
            continue
        lines.append(
            f"| {encoding} | {stacking} | {row['size']} | {row['models']} | {row['steps_per_dispatch']} "
            f"| {row['compile_s']:.1f} "
            f"| {row['s_per_model_step'] * 1e3:.2f} ({row['spread']:.0%}) | {row['model_steps_per_s']:.1f} "
            f"| {row['gflops']:.1f} | {row['peak_gflops']:.0f} | {row['peak_fraction']:.0%} "
            f"| {row['matmuls_only_gflops']:.0f} | {row['matmuls_only_fraction']:.0%} "
            f"| {row['memory_mb']:.0f} ({row['memory_mb_per_model']:.0f}) "
            f"| {row['speedup_vs_python_loop']:.2f}x | {row['speedup_vs_scan_loop']:.2f}x |")
    lines += ["", f"Command: `{report['command']}` ({report['wall_s'] / 60:.1f} min)."]
    return "\n".join(lines) + "\n"


def time_to_quality(encoding_names, size, steps, eval_every, thresholds, repeats=3):
    """Trains each encoding's model alone with its best network; returns per-encoding rows and curves
    (see the module doc). Seconds are steps times the median time per step of the training program,
    timed apart from evaluation over ``repeats`` dispatches of ``eval_every`` steps."""
    split = data.make_split(data.load_image(size=size), "memorize")
    config = state.TrainConfig(steps=steps, eval_every=eval_every, batchnorm=False)  # Tancik et al.'s MLP
    rows = []
    for name in encoding_names:
        spec = specs_lib.make_grid([name])[0]
        run = chunk_runner([spec], split, config, eval_every)[0]
        step_s = timed({"train": run}, repeats)["train"][0] / eval_every
        result = train.train_stack([spec], split, config)
        seconds = result.eval_steps * step_s
        curve = result.scores["train_psnr"]
        row = {"encoding": name, "label": spec.label, "lr": spec.lr, "ms_per_step": step_s * 1e3,
               "final_train_psnr": float(curve[0, -1]), "eval_steps": result.eval_steps.tolist(),
               "train_psnr": curve[0].tolist(), "seconds": seconds.tolist(), "reach": {}}
        for threshold in thresholds:
            step = metrics.first_reaching(result.eval_steps, curve, threshold)[0]
            row["reach"][f"{threshold:g}"] = {"step": None if np.isnan(step) else int(step),
                                              "seconds": None if np.isnan(step) else float(step * step_s)}
        rows.append(row)
        reached = ", ".join(f"{t} dB at step {r['step']} ({r['seconds']:.1f} s)" if r["step"] is not None
                            else f"{t} dB not reached" for t, r in row["reach"].items())
        print(f"{spec.label}: {row['ms_per_step']:.1f} ms/step, final train PSNR {row['final_train_psnr']:.2f} dB; "
              f"{reached}", flush=True)
    return rows


def quality_markdown(report):
    thresholds = list(report["rows"][0]["reach"])
    lines = [f"Device: {report['device_kind']} ({report['platform']}; host {report['host_cpu']}, "
             f"{report['cpu_count']} cores). grace_hopper at {report['size']} x "
             f"{report['size']} px, memorize split, full batch, {report['steps']} steps, one model at a time, each "
             "with its best network (the classic encodings on the MLP without BatchNorm) and default learning "
             f"rate; train PSNR evaluated every {report['eval_every']} steps; seconds = steps x the time per step "
             "of the training program alone, after compilation.", "",
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


def measured_peak(side=4096):
    """GFLOP/s of the float32 matmul peak (``matmul_peak``), median of three after a warm-up."""
    run, flops = matmul_peak(side)
    return flops / timed({"peak": run}, 3)["peak"][0] / 1e9


def speed_report(encoding_names, stackings, sizes, counts, compute_dtype, timing, command):
    """The speed table of every encoding x size x K x stacking, as a report dict (``markdown`` draws it)."""
    started = time.perf_counter()
    rows = []
    for encoding in encoding_names:
        for size in sizes:
            for k in counts:
                for stacking in stackings:
                    config = state.TrainConfig(compute_dtype=compute_dtype, stacking=stacking)
                    row = measure(encoding, size, k, config, timing)
                    rows.append(row)
                    name = f"{encoding} {row['stacking']} size {size} K {k}"
                    if "skipped" in row:
                        print(f"{name}: skipped ({row['skipped']})")
                        continue
                    print(f"{name}: {row['s_per_model_step'] * 1e3:.2f} ms/model-step, "
                          f"{row['gflops']:.1f} GFLOP/s ({row['peak_fraction']:.0%} of peak, "
                          f"{row['matmuls_only_fraction']:.0%} of matmuls only), "
                          f"{row['memory_mb']:.0f} MB, {row['speedup_vs_python_loop']:.2f}x Python loop, "
                          f"{row['speedup_vs_scan_loop']:.2f}x scan loop", flush=True)
    environment = rundir.environment()
    return {"command": command, "device_kind": environment["device_kind"],
            "device_count": environment["device_count"], "platform": environment["platform"],
            "host_cpu": environment["host_cpu"], "cpu_count": environment["cpu_count"],
            "versions": environment["versions"], "git_commit": environment["git_commit"],
            "repeats": timing.repeats, "peak_side": timing.peak_side, "compute_dtype": compute_dtype, "rows": rows,
            "wall_s": time.perf_counter() - started}
