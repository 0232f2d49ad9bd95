"""One run from specs to a finished run folder: train, checkpoint, record, draw, with progress and signals.

``experiment.run_experiment`` turns a config into specs, a split and a
``TrainConfig`` (checking them), and calls ``run`` once per arm.
"""

import contextlib
import functools
import pathlib
import re
import signal
import sys
import time

import jax
import numpy as np

from nerf_toy_jax import cost, data, evaluate, metrics, parallel, rundir, signals, tables, train, viz


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Reports training progress: a bar on a terminal, log lines otherwise.

    Stacks train one after another; progress and ETA weigh each stack's steps
    by its matmul FLOPs per step. Call ``start_stack`` before each stack.
    """

    def __init__(self, stack_flops, steps, stream=None):
        self.weights = [flops / sum(stack_flops) for flops in stack_flops]
        self.steps = steps
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.started = time.perf_counter()
        self.stack_index = 0
        self.first_done = None  # progress when this session started training
        self.best = (float("-inf"), "")

    def start_stack(self, stack_index):
        self.stack_index = stack_index

    def done(self, step):
        """Fraction of all the work done once the current stack reaches ``step``."""
        return sum(self.weights[:self.stack_index]) + self.weights[self.stack_index] * step / self.steps

    def __call__(self, specs, step, scores):
        for spec, psnr, diverged in zip(specs, scores["test_psnr"], scores["diverged"]):
            if not diverged and psnr > self.best[0]:
                self.best = (float(psnr), spec.label)
        done = self.done(step)
        if self.first_done is None:
            self.first_done = done
        elapsed = time.perf_counter() - self.started
        rate = (done - self.first_done) / elapsed if elapsed > 0 else 0.0
        eta = _clock((1.0 - done) / rate) if rate > 0 else "?"
        labels = list(dict.fromkeys(spec.label for spec in specs))
        names = ", ".join(labels) if len(labels) <= 4 else f"{labels[0]} ... {labels[-1]}, {len(labels)} kinds"
        status = (f"stack {self.stack_index + 1}/{len(self.weights)} ({len(specs)} models: {names}) "
                  f"step {step}/{self.steps} | elapsed {_clock(elapsed)} | ETA {eta} | "
                  f"best test PSNR {self.best[0]:.2f} dB ({self.best[1]})")
        if scores["diverged"].any():
            status += f" | {int(scores['diverged'].sum())} diverged"
        if self.tty:
            filled = int(24 * done)
            self.stream.write(f"\r[{'#' * filled}{'.' * (24 - filled)}] {status}\033[K")
            if done >= 1.0:
                self.stream.write("\n")
        else:
            self.stream.write(status + "\n")
        self.stream.flush()


@contextlib.contextmanager
def stop_on_signals(log=print):
    """Turns the first SIGINT or SIGTERM into a request to stop after the current chunk.

    Yields a list that holds the signal number once one arrived (empty
    before). A second signal aborts at once with KeyboardInterrupt.
    """
    received = []

    def handler(signum, frame):
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        log(f"\n{signal.Signals(signum).name}: finishing the current chunk and saving a checkpoint "
            "(send it again to abort without saving)")

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def describe_work(specs, split, config, work):
    """Lines announcing the work (a ``cost.Work``): models, stacks, pixels, steps, matmul FLOPs and memory."""
    flops = sum(work.flops)
    unit = signals.get(split.kind).unit
    points = config.batch_size or split.train_pixels[..., 0].size
    samples = "" if split.render is None else f" of {split.render.samples} samples"
    return [
        f"{len(specs)} models in {len(work.groups)} stacks of {', '.join(str(len(g)) for g in work.groups)}; "
        f"{split.kind} {'x'.join(map(str, split.image.shape))}, {split.name} split, "
        f"{split.train_pixels[..., 0].size} training {unit}s, {points} per step{samples}",
        f"MLP depth {config.depth} width {config.width} batchnorm {config.batchnorm}; "
        f"{config.steps} steps, evaluation every {config.eval_every}",
        f"memory: about {max(work.memory) / 2**20:.0f} MB for the largest stack "
        f"on each of {jax.device_count()} {jax.devices()[0].platform} device(s) "
        f"({cost.available_bytes() / 2**30:.1f} GB each)",
        f"work: {flops * config.steps / 1e12:.2f} TFLOP of matmuls ({flops / 1e9:.2f} GFLOP per step of all models)",
    ]


def _each(callbacks, *args):
    for callback in callbacks:
        callback(*args)


def tensorboard_writer(folder):
    """A tensorboardX ``SummaryWriter`` logging to ``folder`` (None: only checks that tensorboardX is there)."""
    try:
        import tensorboardX
    except ImportError:
        raise ValueError("--tensorboard needs tensorboardX: pip install -e '.[tensorboard]'") from None
    return None if folder is None else tensorboardX.SummaryWriter(str(folder))


def tensorboard_logger(writer, first_index):
    """``log(specs, step, scores)``: every metric of every model of a stack as a scalar ``metric/model``,
    the model named by its index in metrics.csv (from ``first_index``), label and seed, e.g.
    ``test_psnr/0002_gaussian_s_10_seed_0`` (TensorBoard's tags take letters, digits, ``_.-``)."""
    def log(specs, step, scores):
        for k, spec in enumerate(specs):
            model = re.sub(r"[^\w.-]", "_", f"{first_index + k:04d} {spec.label} seed {spec.seed}")
            for name in metrics.NAMES:
                if name in scores:
                    writer.add_scalar(f"{name}/{model}", float(scores[name][k]), step)
        writer.flush()

    return log


def run(out, specs, split, config, work, *, gif_every, record, signal_names=None, pictures=True, model_gifs=False,
        resume=False, checkpoint_every=None, stop=None, tensorboard=False, log=print, stream=None):
    """Trains ``specs`` on ``split`` and writes a complete run folder ``out``.

    Every stack is checkpointed every ``checkpoint_every`` steps, when it
    finishes, and when ``stop`` says so; ``resume=True`` continues from the
    checkpoints in ``out`` and ends with the same results as an uninterrupted run.

    Args:
      out: the run folder (created).
      specs: list of ``specs.ModelSpec``.
      split: a ``data.Split``, or a list of one per spec (many signals of one shape, ``data.signals``).
      config: a ``state.TrainConfig``.
      work: the stacks and their costs (``cost.plan_work`` of these specs, split and config).
      signal_names: with a list of splits, the name of each spec's signal (its rows' "signal").
      gif_every: steps between GIF frames, a multiple of ``config.eval_every``.
      record: the run's config.json (written unless resuming).
      pictures: write the pictures and what they are drawn from; False: only the tables and training curves
        (many models whose pictures would weigh megabytes: a validation sweep's).
      model_gifs: also write one GIF per model.
      resume: continue the run whose checkpoints are in ``out``.
      checkpoint_every: steps between checkpoints, a multiple of ``config.eval_every``; None: only at the end.
      stop: optional list (see ``stop_on_signals``); training stops after the current chunk once it is non-empty.
      tensorboard: also log every evaluation to ``out``/tensorboard/ (``tensorboard_logger``).
      log: prints a line.
      stream: where progress goes (default stdout).

    Returns:
      (rows, finished): the per-model rows of metrics.json (of the models
      trained so far, when stopped), and whether every model finished.
    """
    out = pathlib.Path(out)
    splits = split
    split, many = data.signals(splits)
    kind = signals.get(split.kind)
    writes = parallel.is_primary()  # of several processes, process 0 writes
    for line in describe_work(specs, split, config, work):
        log(line)
    if many:
        log(f"{len(set(signal_names))} signals of one shape, the models of each encoding on all of them in one "
            "stack; pictures show the first signal")
    if not resume and writes:
        rundir.write_json(out / "config.json", record)
    if not resume and writes and pictures:
        rundir.write_png(out / "image.png", kind.picture(split.image))
        if kind.name != "image":
            depth = {} if split.image_depth is None else {"depth": split.image_depth.astype(np.float16)}
            rundir.write_npz(out / "signal.npz", values=kind.stored(split.image), **depth)

    groups = work.groups
    progress = Progress(work.flops, config.steps, stream)
    writer = tensorboard_writer(out / "tensorboard") if tensorboard and writes else None
    order = [i for group in groups for i in group]  # the rows' models: stack after stack

    def named(rows):
        return rows if not many else [{**row, "signal": signal_names[order[j]]} for j, row in enumerate(rows)]

    stacks = []
    for stack_index, indices in enumerate(groups):
        stack_specs = [specs[i] for i in indices]
        stack_split = [splits[i] for i in indices] if many else splits
        progress.start_stack(stack_index)
        callbacks = [progress]
        if writer is not None:
            callbacks.append(tensorboard_logger(writer, sum(len(group) for group in groups[:stack_index])))
        on_eval = functools.partial(_each, callbacks, stack_specs)
        saved = None
        if resume and rundir.stack_path(out, stack_index).exists():
            saved = rundir.load_stack(out, stack_index, train.init_stack(stack_specs, split, config), kind.metrics)
            log(f"stack {stack_index + 1}/{len(groups)}: resuming at step {saved.steps_done}")
        if saved is not None and saved.steps_done == config.steps:
            stack = saved
        else:
            stack = train.train_stack(
                stack_specs, stack_split, config, on_eval=on_eval, resume_from=saved,
                checkpoint_every=checkpoint_every,
                on_checkpoint=functools.partial(rundir.write_stack, out, stack_index) if writes else None,
                should_stop=None if stop is None else lambda: bool(stop))
            if writes:
                rundir.write_stack(out, stack_index, stack)
        stacks.append(stack)
        if stack.steps_done < config.steps:
            rows = named(tables.model_rows(stacks))
            if writes:
                rundir.write_metrics(out, rows)
            return rows, False

    rows = named(tables.model_rows(stacks))
    if not writes:
        return rows, True
    chosen = tables.representatives(rows)
    rundir.write_metrics(out, rows)
    rundir.write_history(out, stacks)
    if not pictures:
        viz.write_run_figures(out)
        return rows, True
    rundir.write_frames(out, stacks, gif_every, list(range(len(rows))) if model_gifs else list(chosen.values()))
    *sides, channels = split.image.shape
    members = tables.ordered(stacks)
    predictions, depths = [], []
    for index in chosen.values():
        spec, stack, k = members[index]
        variables, matrix = stack.model_variables(k)
        if split.render is None:
            predictions.append(evaluate.render(config, channels, spec, variables, matrix, *sides))
        else:
            colours, depth = evaluate.render_views(config, split, spec, variables, matrix)
            predictions.append(colours)
            depths.append(depth)
        signal = splits[order[index]].image if many else split.image
        rundir.write_png(rundir.reconstruction_path(out, index), kind.picture(predictions[-1], signal))
    if kind.name != "image":  # the values behind the pictures, for the kind's own figures
        depth = {"depth": np.stack(depths).astype(np.float16)} if depths else {}
        rundir.write_npz(out / "predictions.npz", values=kind.stored(np.stack(predictions)),
                         models=list(chosen.values()), **depth)
    viz.write_run_figures(out)
    return rows, True
