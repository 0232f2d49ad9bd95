"""A config in, a run folder out: the experiment that ``python -m experiments.run`` runs, callable from Python.

    from experiments.configs import default
    import nerf_toy_jax

    run = nerf_toy_jax.run_experiment(default.get_config(), "runs/notebook")
    run.rows  # one dict per model: its spec and final metrics
    nerf_toy_jax.load_run("runs/notebook").history()["test_psnr"]  # [models, evaluations]

An experiment is a config (``experiments/configs/*.py``, ml_collections): its
arms (sub-runs whose fields replace the config's), or a validation sweep whose
best scales the run then trains at, each a run folder (``runner.run``).
``run_experiment`` checks every field, input and option and plans every run
before any compute (``BadInput``, one line, nothing written), then trains;
the ``Options`` say how it runs (resuming, overwriting, checkpoints, limits)
and never change what it computes. A multi-host run joins its processes
(``parallel.initialize``) before the call; process 0 writes.
"""

import copy
import dataclasses
import json
import pathlib

import numpy as np
from ml_collections import config_dict
from PIL import Image

from nerf_toy_jax import cost, data, encodings, parallel, protocol, rundir, runner, signals, specs as specs_lib, state

GIF_EVERY = 25  # steps between GIF frames when the config leaves gif_every None (rounded up to eval_every)
CHECKPOINT_EVERY = 100  # steps between checkpoints unless given (rounded up to eval_every)
VALIDATION = "validation"  # the sub-run of a config's validation sweep


@dataclasses.dataclass
class Plan:
    """One run, checked and ready: everything ``runner.run`` needs."""

    out: pathlib.Path
    config: config_dict.ConfigDict
    specs: list
    split: data.Split  # or one per spec when the config names a set of signals
    signal_names: list  # the signal of each spec, or None for one signal
    train_config: state.TrainConfig
    gif_every: int
    checkpoint_every: int
    loaded: list  # [(name, split)] of the config's signals, as loaded (``load_splits``)
    work: cost.Work  # the stacks and their costs
    validated_by: int = None  # the index of the earlier run whose rows choose this run's scales, or None
    scales_chosen: dict = None  # {encoding: scale} chosen by that run, once chosen


class BadInput(ValueError):
    """A bad config field, input or option, found before any compute (or, for a validated run, before its
    training): one line that says what to change."""


@dataclasses.dataclass(frozen=True)
class Options:
    """How a run runs, never what it computes."""

    resume: bool = False  # continue the interrupted run in the folder from its checkpoints
    overwrite: bool = False  # replace a run already in the folder
    checkpoint_every: int = None  # steps between checkpoints, a multiple of eval_every; None: CHECKPOINT_EVERY
    tensorboard: bool = False  # also log every metric to <workdir>/tensorboard/ (the tensorboard extra)
    max_pixels: int = data.MAX_PIXELS  # refuse larger images unless config.size resizes them
    url_timeout: float = data.URL_TIMEOUT_S  # seconds to wait for an image URL
    memory_limit_mb: int = 0  # refuse runs estimated to need more per device; 0: the device's memory
    command: str = None  # how the run was started, for its records


@dataclasses.dataclass(frozen=True)
class Run:
    """A run folder and what it holds (``run_experiment`` returns one, ``load_run`` reads one back).

    The files and array keys are listed in docs/programs.md ("A run folder").

    Attributes:
      workdir: the folder.
      record: its config.json (arms.json for a config with arms): "config" the resolved config, "command", "kind",
        "image_shape", "specs" (one per model, stack after stack), "environment".
      rows: one dict per model of metrics.json, stack after stack (``tables.COLUMNS``; the kind's metrics at
        the last step); [] for a config with arms.
      label: what it is in an experiment: None for a plain run, "arm NAME", "validation sweep on SRC", or
        "run on SRC at the chosen scales".
      parts: the runs inside it: one per arm, or a validated run's validation sweep.
      stopped_by: SIGINT or SIGTERM's number where ``run_experiment`` was interrupted (checkpoints and the
        tables of the models trained so far are saved; ``resume=True`` continues), else None.
      stopped_in: the folder of the run it interrupted.
    """

    workdir: pathlib.Path
    record: dict
    rows: list
    label: str = None
    parts: tuple = ()
    stopped_by: int = None
    stopped_in: pathlib.Path = None

    @property
    def config(self):
        """The resolved config (``ml_collections.ConfigDict``)."""
        return config_dict.ConfigDict(self.record["config"])

    @property
    def kind(self):
        """The kind of signal (``signals.KINDS``); a config with arms: None."""
        return None if self.parts and not self.rows else self.record.get("kind", "image")

    def trained(self):
        """[Run] of every run that was trained, in the order it was: the arms, or the validation sweep and the
        validated run, or this run alone."""
        return list(self.parts) + ([self] if self.rows or not self.parts else [])

    def history(self):
        """history.npz: "labels" [M], "eval_steps" [E], "loss" [M, steps], every metric [M, E], "diverged" [M],
        "diverged_step" [M] (models as in ``rows``)."""
        return rundir.load_history(self.workdir)

    def frames(self):
        """frames.npz: "frames" uint8 [P, G, h, w, C] of the models "models" [P] at the steps "frame_steps" [G]."""
        return rundir.load_frames(self.workdir)

    def predictions(self):
        """{model index: float32 [*S, C] in [0, 1]}: the final prediction of each drawn model (one per
        ``tables.group_rows`` group) over the whole signal, as stored (8 bits for images, videos, shapes and
        views; float32 for curves); {} for a run without pictures."""
        path = self.workdir / "predictions.npz"
        if path.is_file():
            with np.load(path) as archive:
                values = signals.get(self.kind).loaded(archive["values"])
                return dict(zip(archive["models"].tolist(), values))
        pictures = sorted((self.workdir / "reconstructions").glob("model_*.png"))
        return {int(path.stem.split("_")[1]): _png_values(path) for path in pictures}

    def model(self, index):
        """(spec, variables, matrix or None) of model ``index`` (a row's "index"), from its checkpoint."""
        return rundir.load_checkpoint(self.workdir, index)


def _png_values(path):
    """An 8-bit PNG as float32 [H, W, C] in [0, 1]."""
    values = np.asarray(Image.open(path), np.float32) / 255.0
    return values[..., None] if values.ndim == 2 else values


def part_labels(config):
    """The labels of the runs of ``config``, in training order (``Run.label``)."""
    if config.arms:
        return [f"arm {name}" for name, _ in config.arms]
    if config.validation:
        return [f"validation sweep on {config.validation}",
                f"run on {config.image or 'the default image'} at the chosen scales"]
    return [None]


def load_run(workdir):
    """The ``Run`` of a run folder that ``run_experiment`` (or ``python -m experiments.run``) wrote, with its
    arms or validation sweep as its parts."""
    workdir = pathlib.Path(workdir)
    if (workdir / "arms.json").is_file():
        record = rundir.load_json(workdir / "arms.json")
        labels = part_labels(config_dict.ConfigDict(record["config"]))
        parts = [dataclasses.replace(load_run(workdir / name), label=label)
                 for name, label in zip(record["arms"], labels) if (workdir / name / "config.json").is_file()]
        return Run(workdir, record, [], parts=tuple(parts))
    if not (workdir / "config.json").is_file():
        raise ValueError(f"{workdir} holds no run (no config.json or arms.json)")
    record = rundir.load_record(workdir)
    rows = rundir.load_rows(workdir / "metrics.json") if (workdir / "metrics.json").is_file() else []
    if "validation" not in record:
        return Run(workdir, record, rows)
    sweep, label = part_labels(config_dict.ConfigDict(record["config"]))
    part = dataclasses.replace(load_run(workdir / record["validation"]["folder"]), label=sweep)
    return Run(workdir, record, rows, label=label, parts=(part,))


def refuse_changed(out, saved, current, names, what, hint):
    """Raises ValueError naming the first of ``names`` whose value in ``saved`` differs from ``current``."""
    changed = sorted(name for name in names if saved.get(name) != current.get(name))
    if changed:
        name = changed[0]
        raise ValueError(f"{out} holds {what}: --{name} was {saved.get(name)!r}, now {current.get(name)!r}; {hint}")


def check_workdir(out, resume, overwrite, record):
    """Checks the run folder ``out`` against resuming and overwriting: resuming needs the ``record`` file there;
    otherwise the folder must be empty unless overwriting. Writes nothing; raises ValueError."""
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {out} exists and is not a folder")
    if resume and not (out / record).is_file():
        raise ValueError(f"nothing to resume: {out} holds no run (no {record})")
    if not resume and out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"output folder {out} already holds files: pass --overwrite to replace them, --resume to "
                         "continue the run, or choose another --out/--name")


def arm_configs(config):
    """[(arm name, its config)] of a config with arms, or [(None, config)]: each arm's fields replace the config's."""
    if not config.arms:
        return [(None, config)]
    names = [name for name, _ in config.arms]
    if len(set(names)) != len(names) or not all(name and "/" not in name for name in names):
        raise ValueError(f"config.arms needs distinct, non-empty names without '/', got {', '.join(names)}")
    arms = []
    for name, changes in config.arms:
        arm = copy.deepcopy(config)
        try:
            arm.update_from_flattened_dict(dict(_flatten(changes)))
        except (KeyError, TypeError) as error:
            raise ValueError(f"arm {name!r}: {error}") from None
        arm.arms = ()
        arms.append((name, arm))
    return arms


def _flatten(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def build_specs(config):
    """The specs of a config: encodings x their scales x seeds, with the encodings' parameters."""
    names = [name.strip() for name in config.encodings.split(",") if name.strip()]
    if not names:
        raise ValueError("config.encodings is empty")
    unknown = [name for name in names if name not in encodings.REGISTRY]
    if unknown:
        raise ValueError(f"unknown encoding(s) {', '.join(unknown)}: choose from {', '.join(encodings.NAMES)}")
    if config.seeds < 1:
        raise ValueError(f"config.seeds must be at least 1, got {config.seeds}")
    scales = {name: tuple(values) if isinstance(values, (tuple, list)) else (values,)
              for name, values in config.scales.items() if name in names}
    empty = [name for name, values in scales.items() if not values]
    if empty:
        raise ValueError(f"config.scales.{empty[0]} is empty")
    lrs = {name: lr for name, lr in config.lrs.items() if lr is not None}
    return specs_lib.make_grid(names, seeds=range(config.seeds), lr=config.lr, lrs=lrs, scales=scales,
                               params=config.encoding.to_dict())


def load_splits(config, options):
    """[(name, split)] of the config's signal (one, named None) or set of signals."""
    if config.size < 0:
        raise ValueError(f"config.size must be >= 0, got {config.size}")
    if config.split not in data.SPLITS:
        raise ValueError(f"config.split must be one of {', '.join(data.SPLITS)}, got {config.split!r}")
    try:
        loaded = signals.load_signals(config.image, config.size or None, config.split, config.render.to_dict(),
                                      max_pixels=options.max_pixels, timeout=options.url_timeout)
    except FileNotFoundError:
        raise ValueError(f"image file not found: {config.image}") from None
    except IsADirectoryError:
        raise ValueError(f"config.image is a folder, not an image file: {config.image}") from None
    except OSError as error:
        raise ValueError(str(error)) from None
    if loaded[0][1].render is not None and config.train.batchnorm:
        raise ValueError(f"views of a scene ({config.image}) train without BatchNorm: the samples along a ray are "
                         "not a batch; set --config.train.batchnorm=False")
    return loaded


def every(value, default, eval_every, name):
    """Steps of ``name``: ``value`` when given, which must be a positive multiple of eval_every, else
    ``default`` rounded up to a multiple of eval_every."""
    if value is None:
        return -(-default // eval_every) * eval_every
    if value <= 0 or value % eval_every:
        raise ValueError(f"{name} ({value}) must be a positive multiple of eval_every ({eval_every})")
    return value


def plan(config, out, options, loaded=None):
    """Checks one (arm's) config and builds its run; raises ValueError before any compute. ``loaded``: the
    config's signals where they are loaded already (``load_splits``)."""
    specs = build_specs(config)
    try:
        train_config = state.TrainConfig(**config.train.to_dict())
    except TypeError as error:
        raise ValueError(f"config.train: {error}") from None
    eval_every = train_config.eval_every
    gif_every = every(config.gif_every, GIF_EVERY, eval_every, "config.gif_every")
    checkpoint_every = every(options.checkpoint_every, CHECKPOINT_EVERY, eval_every, "--checkpoint_every")
    loaded = load_splits(config, options) if loaded is None else loaded
    split = loaded[0][1]
    pixels = split.train_pixels[..., 0].size
    if train_config.batch_size and train_config.batch_size > pixels:
        raise ValueError(f"config.train.batch_size {train_config.batch_size} exceeds the {pixels} training "
                         f"{signals.get(split.kind).unit}s")
    resolved = copy.deepcopy(config)
    resolved.gif_every = gif_every
    signal_names = None
    if len(loaded) > 1:  # signals x specs: every spec on every signal, the signals' models stacked together
        specs, split, signal_names = ([spec for _ in loaded for spec in specs],
                                      [one for _, one in loaded for _ in specs],
                                      [name for name, _ in loaded for _ in specs])
    work = cost.plan_work(specs, loaded[0][1], train_config)
    cost.check_memory(work, options.memory_limit_mb * 2**20 or cost.available_bytes())
    return Plan(out, resolved, specs, split, signal_names, train_config, gif_every, checkpoint_every, loaded, work)


def check_resumable(out, config):
    """Refuses to resume ``out`` with a config that differs from the one it was started with."""
    saved = _flat_config(rundir.load_record(out)["config"])
    current = _flat_config(config.to_dict())
    refuse_changed(out, saved, current, set(saved) | set(current), "a different run",
                   "resume with the same config")


def _flat_config(tree):
    return {f"config.{key}": json.loads(json.dumps(value)) for key, value in _flatten(tree)}


def plans(config, workdir, options):
    """[Plan] of ``config`` in ``workdir``, one per arm (or the validation sweep and the run): every config field,
    option and input checked, nothing written."""
    if options.tensorboard:
        runner.tensorboard_writer(None)  # the extra is installed
    if config.validation and config.arms:
        raise ValueError("config.validation and config.arms exclude each other: give each arm its own config")
    marker = "arms.json" if config.arms else f"{VALIDATION}/config.json" if config.validation else "config.json"
    check_workdir(workdir, options.resume, options.overwrite, marker)
    if config.validation:
        runs = [plan(validation_config(config), workdir / VALIDATION, options),
                dataclasses.replace(plan(config, workdir, options), validated_by=0)]
        kinds = [data.signals(run.split)[0].kind for run in runs]
        if kinds[0] != kinds[1]:
            raise ValueError(f"config.validation is of kind {kinds[0]} and config.image of kind {kinds[1]}: "
                             "validate on a signal of the same kind")
    else:
        runs = [plan(arm, workdir if name is None else workdir / name, options) for name, arm in arm_configs(config)]
    if options.resume:
        for run in runs:
            if run.validated_by is None and (run.out / "config.json").is_file():
                check_resumable(run.out, run.config)
    return runs


def validation_config(config):
    """The config of a validation sweep's sub-run: ``config.validation`` as its signal, on
    ``config.validation_seeds`` seeds, its tables and curves without pictures."""
    if config.validation_seeds < 1:
        raise ValueError(f"config.validation_seeds must be at least 1, got {config.validation_seeds}")
    names = [name.strip() for name in config.encodings.split(",")]
    if not any(name in names and len(values) > 1 for name, values in config.scales.items()):
        raise ValueError("config.validation sweeps the encodings' scales, but no encoding of config.encodings has "
                         "several values in config.scales")
    sweep = copy.deepcopy(config)
    sweep.image, sweep.seeds, sweep.validation = config.validation, config.validation_seeds, None
    sweep.pictures = False  # one drawn model per swept value would weigh megabytes
    return sweep


def chosen_plan(run, validation_rows, options):
    """``run`` with each encoding that the validation sweep trained at several scales at the one of the best
    mean headline metric of its kind (``signals.Kind.headline``: test PSNR, a shape's IoU;
    ``protocol.best_scales``), checked again (and against its checkpoints when resuming)."""
    headline = signals.get(data.signals(run.split)[0].kind).headline
    choices = protocol.best_scales(validation_rows, headline)
    config = copy.deepcopy(run.config)
    for name, value in choices.items():
        config.scales[name] = (value,)
    chosen = dataclasses.replace(plan(config, run.out, options, run.loaded), scales_chosen=choices)
    if options.resume and (run.out / "config.json").is_file():
        check_resumable(run.out, chosen.config)
    return chosen


def record(run, command):
    """The config.json of a run: its resolved config, the command, what it trained, and where."""
    first = data.signals(run.split)[0]
    names = run.signal_names or [None] * len(run.specs)
    validation = {} if run.scales_chosen is None else {
        "validation": {"folder": VALIDATION, "scales": run.scales_chosen}}
    return {"format": rundir.FORMAT, "command": command, "config": run.config.to_dict(),
            "kind": first.kind, "image_shape": list(first.image.shape), "checkpoint_every": run.checkpoint_every,
            **validation, "specs": [{**specs_lib.spec_to_dict(spec), **({} if name is None else {"signal": name})}
                                    for spec, name in zip(run.specs, names)], "environment": rundir.environment()}


def run_experiment(config, workdir, **options):
    """Checks everything, then trains every arm's run (or the validation sweep, then the run at its chosen
    scales) into ``workdir`` and draws the comparison across arms.

    Args:
      config: an experiment config (``ml_collections.ConfigDict``, e.g. ``experiments.configs.default.get_config()``).
      workdir: the run folder (str or pathlib.Path).
      **options: the fields of ``Options``.

    Returns:
      the ``Run`` of ``workdir`` (its arms or validation sweep as its parts; ``Run.trained`` lists them in
      training order). On SIGINT or SIGTERM, checkpoints and the tables of the models trained so far are saved
      and the ``Run`` says which signal stopped which part; ``resume=True`` continues it.

    Raises:
      BadInput: a bad field, input or option, before any compute and before anything is written (for a
        validated run, a choice of scales that fails its checks, before that run trains).
    """
    options = Options(**options)
    workdir = pathlib.Path(workdir)
    config = copy.deepcopy(config)
    try:
        runs = plans(config, workdir, options)
    except ValueError as error:
        raise BadInput(str(error)) from None
    parallel.barrier("config checked")  # every process has read the folder before process 0 writes
    if options.overwrite and parallel.is_primary():
        for folder in dict.fromkeys([workdir] + [run.out for run in runs]):
            rundir.clear_run(folder)
    print(f"{'resuming' if options.resume else 'writing'} {workdir}")
    arms_record = {"format": rundir.FORMAT, "command": options.command, "config": config.to_dict(),
                   "arms": [name for name, _ in config.arms]}
    if config.arms and parallel.is_primary() and not options.resume:
        rundir.write_json(workdir / "arms.json", arms_record)
    labels = part_labels(config)
    done = []  # the Run of each plan trained so far
    with runner.stop_on_signals() as received:
        for index, run in enumerate(runs):
            if run.validated_by is not None:
                try:
                    run = chosen_plan(run, done[run.validated_by].rows, options)
                except ValueError as error:
                    raise BadInput(str(error)) from None
                print("scales chosen on the validation signal: "
                      + ", ".join(f"{name} {value:g}" for name, value in run.scales_chosen.items()))
            if len(runs) > 1:
                print(f"{labels[index]} ({index + 1}/{len(runs)}): {run.out}")
            resume = options.resume and (run.out / "config.json").is_file()
            run_record = record(run, options.command)
            rows, finished = runner.run(
                run.out, run.specs, run.split, run.train_config, run.work, signal_names=run.signal_names,
                gif_every=run.gif_every, pictures=run.config.pictures, model_gifs=run.config.model_gifs,
                record=run_record, resume=resume, checkpoint_every=run.checkpoint_every,
                stop=received, tensorboard=options.tensorboard)
            done.append(Run(run.out, run_record, rows, label=labels[index]))
            if not finished:
                break
    stopped = {} if finished else {"stopped_by": received[0], "stopped_in": done[-1].workdir}
    if config.arms:
        if finished and parallel.is_primary():
            from nerf_toy_jax import viz

            viz.write_arms_figures(workdir)
        return Run(workdir, arms_record, [], parts=tuple(done), **stopped)
    if config.validation and len(done) == 2:
        return dataclasses.replace(done[1], parts=(done[0],), **stopped)
    if config.validation:  # stopped in the validation sweep
        return Run(workdir, {"config": config.to_dict()}, [], label=labels[1], parts=(done[0],), **stopped)
    return dataclasses.replace(done[0], **stopped)
