"""One experiment from specs to a finished run folder: train, record, draw.

The absl programs in ``experiments/`` parse flags, build the specs and the
split, and call ``run``.
"""

import dataclasses
import pathlib
import sys
import time

from nerf_toy_jax import results, sweep, train, viz
from nerf_toy_jax.model import matmul_flops


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Reports training progress: a bar on a terminal, log lines otherwise.

    Stacks train one after another; progress and ETA weigh each stack's steps
    by its matmul FLOPs per step.
    """

    def __init__(self, stack_flops, steps, stream=None):
        self.weights = [flops / sum(stack_flops) for flops in stack_flops]
        self.steps = steps
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.started = time.perf_counter()
        self.stack_index = -1
        self.best = (float("-inf"), "")

    def __call__(self, specs, step, scores):
        if step == 0:
            self.stack_index += 1
        for spec, psnr, diverged in zip(specs, scores["test_psnr"], scores["diverged"]):
            if not diverged and psnr > self.best[0]:
                self.best = (float(psnr), spec.label)
        done = sum(self.weights[:self.stack_index]) + self.weights[self.stack_index] * step / self.steps
        elapsed = time.perf_counter() - self.started
        eta = _clock(elapsed / done * (1.0 - done)) if done > 0 else "?"
        names = ", ".join(sorted({spec.label for spec in specs}))
        status = (f"stack {self.stack_index + 1}/{len(self.weights)} ({len(specs)} models: {names}) "
                  f"step {step}/{self.steps} | elapsed {_clock(elapsed)} | ETA {eta} | "
                  f"best test PSNR {self.best[0]:.2f} dB ({self.best[1]})")
        if scores["diverged"].any():
            status += f" | {int(scores['diverged'].sum())} diverged"
        if self.tty:
            filled = int(24 * done)
            self.stream.write(f"\r[{'#' * filled}{'.' * (24 - filled)}] {status}\033[K")
            if self.stack_index == len(self.weights) - 1 and step == self.steps:
                self.stream.write("\n")
        else:
            self.stream.write(status + "\n")
        self.stream.flush()


def stack_flops(specs, split, config):
    """Matmul FLOPs of one training step of each stack of ``sweep.group_specs(specs)``."""
    model = train.make_model(config, split.image.shape[-1])
    points = config.batch_size or split.train_pixels[..., 0].size
    return [sum(matmul_flops(model, 2 if specs[i].encoding == "none" else 2 * specs[i].matrix_rows, points)
                for i in group) for group in sweep.group_specs(specs)]


def describe_work(specs, split, config):
    """Lines announcing the work: models, stacks, pixels, steps and matmul FLOPs."""
    groups = sweep.group_specs(specs)
    flops = sum(stack_flops(specs, split, config))
    height, width, channels = split.image.shape
    points = config.batch_size or split.train_pixels[..., 0].size
    return [
        f"{len(specs)} models in {len(groups)} stacks of {', '.join(str(len(g)) for g in groups)}; "
        f"image {height}x{width}x{channels}, {split.name} split, "
        f"{split.train_pixels[..., 0].size} training pixels, {points} per step",
        f"MLP depth {config.depth} width {config.width} batchnorm {config.batchnorm}; "
        f"{config.steps} steps, evaluation every {config.eval_every}",
        f"work: {flops * config.steps / 1e12:.2f} TFLOP of matmuls ({flops / 1e9:.2f} GFLOP per step of all models)",
    ]


def run(out, specs, split, config, *, gif_every, model_gifs=False, settings=None, log=print, stream=None):
    """Trains ``specs`` on ``split`` and writes a complete run folder ``out``.

    Args:
      out: the run folder (created).
      specs: list of ``sweep.ModelSpec``.
      split: a ``data.Split``.
      config: a ``train.TrainConfig``.
      gif_every: steps between GIF frames, a multiple of ``config.eval_every``.
      model_gifs: also write one GIF per model.
      settings: the command's settings, recorded in config.json.
      log: prints a line.
      stream: where progress goes (default stdout).

    Returns:
      the per-model rows of metrics.json.
    """
    out = pathlib.Path(out)
    if gif_every % config.eval_every:
        raise ValueError(f"gif_every ({gif_every}) must be a multiple of eval_every ({config.eval_every})")
    for line in describe_work(specs, split, config):
        log(line)
    results.write_json(out / "config.json", {
        "settings": settings or {},
        "split": split.name,
        "image_shape": list(split.image.shape),
        "train": dataclasses.asdict(config),
        "gif_every": gif_every,
        "model_gifs": model_gifs,
        "specs": [sweep.spec_to_dict(spec) for spec in specs],
        "environment": results.environment(),
    })
    results.write_png(out / "image.png", split.image)

    progress = Progress(stack_flops(specs, split, config), config.steps, stream)
    stacks = train.train_sweep(specs, split, config, on_eval=progress)
    rows = results.model_rows(stacks)
    chosen = results.representatives(rows)
    results.write_metrics(out, rows)
    results.write_history(out, stacks)
    results.write_frames(out, stacks, gif_every, list(range(len(rows))) if model_gifs else list(chosen.values()))
    results.write_checkpoints(out, stacks)
    height, width = split.image.shape[:2]
    members = results.ordered(stacks)
    for index in chosen.values():
        _, stack, k = members[index]
        variables, matrix = results.model_variables(stack, k)
        prediction = train.render(config, split.image.shape[-1], variables, matrix, height, width)
        results.write_png(results.reconstruction_path(out, index), prediction)
    viz.write_run_figures(out)
    return rows
