"""Checks shared by the experiment programs: list-valued flags (errors are ``UsageError``), the output folder
(``experiment.check_workdir``'s ValueError)."""

import pathlib

from nerf_toy_jax import experiment


RUNS = "runs"  # users' runs (ignored by git); committed results are written with --out=results/NAME


class UsageError(ValueError):
    """A bad flag or input; reported as one line with exit status 2."""


def parse_seeds(values):
    """["N"] -> 0..N-1; several values -> those seeds."""
    try:
        seeds = [int(value) for value in values]
    except ValueError:
        raise UsageError(f"--seeds must be integers, got {','.join(values)}") from None
    if len(seeds) == 1:
        if seeds[0] < 1:
            raise UsageError(f"--seeds count must be at least 1, got {seeds[0]}")
        return list(range(seeds[0]))
    if min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds must be distinct and >= 0, got {','.join(values)}")
    return seeds


def parse_floats(name, values):
    try:
        return [float(value) for value in values]
    except ValueError:
        raise UsageError(f"--{name} must be numbers, got {','.join(values)}") from None


def parse_lr_overrides(values):
    overrides = {}
    for item in values:
        encoding, _, lr = item.partition("=")
        try:
            overrides[encoding] = float(lr)
        except ValueError:
            raise UsageError(f"--lr_overrides takes encoding=lr pairs, got {item!r}") from None
    return overrides


def output_folder(out, name, resume, overwrite, record):
    """The output folder (``out``, or runs/``name``), checked against --resume and --overwrite
    (``experiment.check_workdir``). Writes nothing."""
    out = pathlib.Path(out or pathlib.Path(RUNS) / name)
    experiment.check_workdir(out, resume, overwrite, record)
    return out
