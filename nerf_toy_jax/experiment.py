"""One experiment from specs to a finished run folder: train, record, draw.

The absl programs in ``experiments/`` parse flags, build the specs and the
split, and call ``run``.
"""

import contextlib
import dataclasses
import functools
import pathlib
import signal
import sys
import time

import jax

from nerf_toy_jax import distributed, results, sweep, train, viz
from nerf_toy_jax.model import matmul_flops


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


def stack_flops(specs, split, config):
    """Matmul FLOPs of one training step of each stack of ``sweep.group_specs``."""
    points = config.batch_size or split.train_pixels[..., 0].size
    return [sum(matmul_flops(train.make_model(config, split.image.shape[-1], specs[i]), specs[i].feature_dim, points)
                for i in group)
            for group in sweep.group_specs(specs, config.max_stack)]


def stack_memory(specs, split, config):
    """Estimated peak bytes on one device of each stack of ``sweep.group_specs`` (see ``train.memory_estimate``)."""
    mesh = train.model_mesh()
    return [train.memory_estimate([specs[i] for i in group], split, config, mesh)
            for group in sweep.group_specs(specs, config.max_stack)]


def check_memory(specs, split, config, limit_bytes):
    """Raises ValueError, with what to change, if a stack would need more than ``limit_bytes``."""
    need = max(stack_memory(specs, split, config))
    if need > limit_bytes:
        raise ValueError(
            f"the largest stack would need about {need / 2**20:.0f} MB, more than the {limit_bytes / 2**20:.0f} MB "
            "available: train fewer models per stack (--max_stack), fewer pixels per step (--batch_size), or "
            "recompute activations (--remat, on GPU/TPU)")


def describe_work(specs, split, config):
    """Lines announcing the work: models, stacks, pixels, steps, matmul FLOPs and memory."""
    groups = sweep.group_specs(specs, config.max_stack)
    flops = sum(stack_flops(specs, split, config))
    height, width, channels = split.image.shape
    points = config.batch_size or split.train_pixels[..., 0].size
    return [
        f"{len(specs)} models in {len(groups)} stacks of {', '.join(str(len(g)) for g in groups)}; "
        f"image {height}x{width}x{channels}, {split.name} split, "
        f"{split.train_pixels[..., 0].size} training pixels, {points} per step",
        f"MLP depth {config.depth} width {config.width} batchnorm {config.batchnorm}; "
        f"{config.steps} steps, evaluation every {config.eval_every}",
        f"memory: about {max(stack_memory(specs, split, config)) / 2**20:.0f} MB for the largest stack "
        f"on each of {jax.device_count()} {jax.devices()[0].platform} device(s) "
        f"({train.available_bytes() / 2**30:.1f} GB each)",
        f"work: {flops * config.steps / 1e12:.2f} TFLOP of matmuls ({flops / 1e9:.2f} GFLOP per step of all models)",
    ]


def run_config(specs, split, config, gif_every, checkpoint_every, model_gifs, settings):
    """The config.json of a run: what identifies it, plus the environment."""
    return {
        "settings": settings or {},
        "split": split.name,
        "image_shape": list(split.image.shape),
        "train": dataclasses.asdict(config),
        "gif_every": gif_every,
        "checkpoint_every": checkpoint_every,
        "model_gifs": model_gifs,
        "specs": [sweep.spec_to_dict(spec) for spec in specs],
        "environment": results.environment(),
    }


def run(out, specs, split, config, *, gif_every, model_gifs=False, settings=None, resume=False,
        checkpoint_every=None, stop=None, log=print, stream=None):
    """Trains ``specs`` on ``split`` and writes a complete run folder ``out``.

    Every stack is checkpointed every ``checkpoint_every`` steps, when it
    finishes, and when ``stop`` says so; ``resume=True`` continues from the
    checkpoints in ``out`` and ends with the same results as an uninterrupted run.

    Args:
      out: the run folder (created).
      specs: list of ``sweep.ModelSpec``.
      split: a ``data.Split``.
      config: a ``train.TrainConfig``.
      gif_every: steps between GIF frames, a multiple of ``config.eval_every``.
      model_gifs: also write one GIF per model.
      settings: the command's settings, recorded in config.json.
      resume: continue the run whose checkpoints are in ``out``.
      checkpoint_every: steps between checkpoints, a multiple of ``config.eval_every``; None: only at the end.
      stop: optional list (see ``stop_on_signals``); training stops after the current chunk once it is non-empty.
      log: prints a line.
      stream: where progress goes (default stdout).

    Returns:
      (rows, finished): the per-model rows of metrics.json (of the models
      trained so far, when stopped), and whether every model finished.
    """
    out = pathlib.Path(out)
    for every, name in ((gif_every, "gif_every"), (checkpoint_every or config.eval_every, "checkpoint_every")):
        if every % config.eval_every:
            raise ValueError(f"{name} ({every}) must be a multiple of eval_every ({config.eval_every})")
    writes = distributed.is_primary()  # of several processes, process 0 writes
    for line in describe_work(specs, split, config):
        log(line)
    if not resume and writes:
        record = run_config(specs, split, config, gif_every, checkpoint_every, model_gifs, settings)
        results.write_json(out / "config.json", record)
        results.write_png(out / "image.png", split.image)

    groups = sweep.group_specs(specs, config.max_stack)
    progress = Progress(stack_flops(specs, split, config), config.steps, stream)
    stacks = []
    for stack_index, indices in enumerate(groups):
        stack_specs = [specs[i] for i in indices]
        progress.start_stack(stack_index)
        saved = None
        if resume and results.stack_path(out, stack_index).exists():
            saved = results.load_stack(out, stack_index, train.init_stack(stack_specs, split, config))
            log(f"stack {stack_index + 1}/{len(groups)}: resuming at step {saved.steps_done}")
        if saved is not None and saved.steps_done == config.steps:
            stack = saved
        else:
            stack = train.train_stack(
                stack_specs, split, config, on_eval=functools.partial(progress, stack_specs), resume_from=saved,
                checkpoint_every=checkpoint_every,
                on_checkpoint=functools.partial(results.write_stack, out, stack_index) if writes else None,
                should_stop=None if stop is None else lambda: bool(stop))
            if writes:
                results.write_stack(out, stack_index, stack)
        stacks.append(stack)
        if stack.steps_done < config.steps:
            rows = results.model_rows(stacks)
            if writes:
                results.write_metrics(out, rows)
            return rows, False

    rows = results.model_rows(stacks)
    if not writes:
        return rows, True
    chosen = results.representatives(rows)
    results.write_metrics(out, rows)
    results.write_history(out, stacks)
    results.write_frames(out, stacks, gif_every, list(range(len(rows))) if model_gifs else list(chosen.values()))
    height, width, channels = split.image.shape
    members = results.ordered(stacks)
    for index in chosen.values():
        spec, stack, k = members[index]
        variables, matrix = results.model_variables(stack, k)
        prediction = train.render(config, channels, spec, variables, matrix, height, width)
        results.write_png(results.reconstruction_path(out, index), prediction)
    viz.write_run_figures(out)
    return rows, True
