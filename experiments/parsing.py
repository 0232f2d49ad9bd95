"""Checks shared by the experiment programs: list-valued flags, the output folder; errors are ``UsageError``."""

import pathlib


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


def refuse_changed(out, saved, current, names, what, hint):
    """Raises UsageError naming the first of ``names`` whose value in ``saved`` differs from ``current``."""
    changed = sorted(name for name in names if saved.get(name) != current.get(name))
    if changed:
        name = changed[0]
        raise UsageError(f"{out} holds {what}: --{name} was {saved.get(name)!r}, now {current.get(name)!r}; {hint}")


def output_folder(out, name, resume, overwrite, record):
    """The output folder (``out``, or runs/``name``), checked against --resume and --overwrite: resuming
    needs the ``record`` file there; otherwise the folder must be empty unless overwriting. Writes nothing."""
    out = pathlib.Path(out or pathlib.Path(RUNS) / name)
    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if out.exists() and not out.is_dir():
        raise UsageError(f"output folder {out} exists and is not a folder")
    if resume and not (out / record).is_file():
        raise UsageError(f"nothing to resume: {out} holds no run (no {record})")
    if not resume and out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"output folder {out} already holds files: pass --overwrite to replace them, --resume to "
                         "continue the run, or choose another --out/--name")
    return out
