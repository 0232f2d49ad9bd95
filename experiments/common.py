"""The flags of the run programs and the translation of a config into runs: validation happens here, once.

An experiment is a config file (``experiments/configs/*.py``, ml_collections):
``--config=FILE`` and ``--config.FIELD=VALUE`` overrides. Four shorthands
that people type most set config fields: ``--image``, ``--encodings``,
``--steps`` (``config.train.steps``) and ``--name``. The other flags say how
this invocation runs (where it writes, resuming, processes) and never change
what it computes. config.json holds the resolved config, which is the run.
"""

import copy
import dataclasses
import json
import pathlib
import shlex
import sys

from absl import flags
from ml_collections import config_dict, config_flags

import experiments
from experiments.parsing import UsageError, output_folder, refuse_changed
from nerf_toy_jax import cost, data, encodings, parallel, protocol, rundir, runner, signals, specs as specs_lib, state

FLAGS = flags.FLAGS
DEFAULT_CONFIG = str(pathlib.Path(__file__).parent / "configs" / "default.py")

try:  # with the default config, config_flags applies the command line's overrides here, at definition
    config_flags.DEFINE_config_file("config", DEFAULT_CONFIG, "Experiment config file (experiments/configs/); "
                                    "override its fields with --config.FIELD=VALUE.", lock_config=True)
except (AttributeError, KeyError) as error:  # an override of a field the default config does not have
    experiments.exit_with(sys.argv, experiments.unknown_field(error, sys.argv))
flags.DEFINE_string("image", None, "Shorthand for --config.image, the signal: an image path, http(s) URL, "
                    "natural:NAME or text:INDEX (nerf_toy_jax.datasets), curve:NAME (nerf_toy_jax.curves), video:NAME "
                    "(nerf_toy_jax.videos), shape:NAME:SEED (nerf_toy_jax.shapes), views of a 3D scene "
                    "scene:primitives:SEED or blender:FOLDER (nerf_toy_jax.views), or a set of images trained "
                    "together: faces[:N], a folder, a glob.")
flags.DEFINE_list("encodings", None, f"Shorthand for --config.encodings, from: {', '.join(encodings.NAMES)}.")
flags.DEFINE_integer("steps", None, "Shorthand for --config.train.steps.")
flags.DEFINE_string("name", "run", "Run name; the output folder is runs/<name> unless --out is given.")
flags.DEFINE_string("out", None, "Output folder. Default: runs/<name> (ignored by git; the committed results are "
                    "written with --out=results/NAME).")
flags.DEFINE_bool("overwrite", False, "Replace an existing run in the output folder.")
flags.DEFINE_bool("resume", False, "Continue the interrupted run in the output folder from its checkpoints.")
flags.DEFINE_integer("checkpoint_every", 100, "Steps between checkpoints of every stack, rounded up to a multiple "
                     "of eval_every when not given.")
flags.DEFINE_bool("tensorboard", False, "Also log every metric of every model to <out>/tensorboard/ at each "
                  "evaluation (needs the tensorboard extra: pip install -e '.[tensorboard]').")
flags.DEFINE_integer("max_pixels", data.MAX_PIXELS, "Refuse larger images unless config.size resizes them.")
flags.DEFINE_float("url_timeout", data.URL_TIMEOUT_S, "Seconds to wait for an image URL to answer.")
flags.DEFINE_integer("memory_limit_mb", 0, "Refuse runs estimated to need more per device; 0: the device's memory.")
flags.DEFINE_integer("num_processes", 1, "Processes (hosts) of a multi-host run; start each with the same flags "
                     "and its own --process_id. Process 0 writes the results.")
flags.DEFINE_integer("process_id", 0, "This process's index in 0 .. num_processes - 1.")
flags.DEFINE_string("coordinator_address", None, "host:port of process 0, reachable from every process "
                    "(needed with --num_processes > 1).")

GIF_EVERY = 25  # steps between GIF frames when the config leaves gif_every None (rounded up to eval_every)
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
    validated_by: int = None  # the index of the earlier run whose rows choose this run's scales, or None
    scales_chosen: dict = None  # {encoding: scale} chosen by that run, once chosen


def resolved_config():
    """The config of --config with its overrides and the shorthands applied (a mutable copy)."""
    try:
        config = copy.deepcopy(FLAGS.config)
    except OSError as error:  # config_flags defers a failed load to the first use
        reason = str(error).strip().splitlines()[-1].strip()
        raise UsageError(f"cannot load the config file {config_flags.get_config_filename(FLAGS['config'])}: "
                         f"{reason}") from None
    config.unlock()
    if FLAGS.image is not None:
        config.image = FLAGS.image
    if FLAGS.encodings is not None:
        config.encodings = ",".join(FLAGS.encodings)
    if FLAGS.steps is not None:
        config.train.steps = FLAGS.steps
    return config


def arm_configs(config):
    """[(arm name, its config)] of a config with arms, or [(None, config)]: each arm's fields replace the config's."""
    if not config.arms:
        return [(None, config)]
    names = [name for name, _ in config.arms]
    if len(set(names)) != len(names) or not all(name and "/" not in name for name in names):
        raise UsageError(f"config.arms needs distinct, non-empty names without '/', got {', '.join(names)}")
    arms = []
    for name, changes in config.arms:
        arm = copy.deepcopy(config)
        try:
            arm.update_from_flattened_dict(dict(_flatten(changes)))
        except (KeyError, TypeError) as error:
            raise UsageError(f"arm {name!r}: {error}") from None
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
        raise UsageError("config.encodings is empty")
    unknown = [name for name in names if name not in encodings.REGISTRY]
    if unknown:
        raise UsageError(f"unknown encoding(s) {', '.join(unknown)}: choose from {', '.join(encodings.NAMES)}")
    if config.seeds < 1:
        raise UsageError(f"config.seeds must be at least 1, got {config.seeds}")
    scales = {name: tuple(values) if isinstance(values, (tuple, list)) else (values,)
              for name, values in config.scales.items() if name in names}
    empty = [name for name, values in scales.items() if not values]
    if empty:
        raise UsageError(f"config.scales.{empty[0]} is empty")
    lrs = {name: lr for name, lr in config.lrs.items() if lr is not None}
    return specs_lib.make_grid(names, seeds=range(config.seeds), lr=config.lr, lrs=lrs, scales=scales,
                               params=config.encoding.to_dict())


def load_splits(config):
    """[(name, split)] of the config's signal (one, named None) or set of signals."""
    if config.size < 0:
        raise UsageError(f"config.size must be >= 0, got {config.size}")
    if config.split not in data.SPLITS:
        raise UsageError(f"config.split must be one of {', '.join(data.SPLITS)}, got {config.split!r}")
    try:
        images = signals.load_set(config.image, config.size or None, max_pixels=FLAGS.max_pixels,
                                  timeout=FLAGS.url_timeout)
        if images is not None:
            return [(name, signals.make_split("image", values, config.split)) for name, values in images]
        kind, values = signals.load(config.image, config.size or None, max_pixels=FLAGS.max_pixels,
                                    timeout=FLAGS.url_timeout)
        split = signals.make_split(kind, values, config.split, config.render.to_dict())
    except FileNotFoundError:
        raise UsageError(f"image file not found: {config.image}") from None
    except IsADirectoryError:
        raise UsageError(f"config.image is a folder, not an image file: {config.image}") from None
    except OSError as error:
        raise UsageError(str(error)) from None
    if split.render is not None and config.train.batchnorm:
        raise UsageError(f"views of a scene ({config.image}) train without BatchNorm: the samples along a ray are "
                         "not a batch; set --config.train.batchnorm=False")
    return [(None, split)]


def every(value, default, eval_every, name):
    """Steps of ``name``: ``value`` when given, which must be a positive multiple of eval_every, else
    ``default`` rounded up to a multiple of eval_every."""
    if value is None:
        return -(-default // eval_every) * eval_every
    if value <= 0 or value % eval_every:
        raise UsageError(f"{name} ({value}) must be a positive multiple of eval_every ({eval_every})")
    return value


def plan(config, out):
    """Checks one (arm's) config and builds its run; raises UsageError (or ValueError) before any compute."""
    specs = build_specs(config)
    try:
        train_config = state.TrainConfig(**config.train.to_dict())
    except TypeError as error:
        raise UsageError(f"config.train: {error}") from None
    eval_every = train_config.eval_every
    gif_every = every(config.gif_every, GIF_EVERY, eval_every, "config.gif_every")
    checkpoint_every = every(FLAGS.checkpoint_every if FLAGS["checkpoint_every"].present else None,
                             FLAGS.checkpoint_every, eval_every, "--checkpoint_every")
    loaded = load_splits(config)
    split = loaded[0][1]
    pixels = split.train_pixels[..., 0].size
    if train_config.batch_size and train_config.batch_size > pixels:
        raise UsageError(f"config.train.batch_size {train_config.batch_size} exceeds the {pixels} training "
                         f"{signals.get(split.kind).unit}s")
    resolved = copy.deepcopy(config)
    resolved.gif_every = gif_every
    if len(loaded) == 1:
        plan = Plan(out, resolved, specs, split, None, train_config, gif_every, checkpoint_every)
    else:  # signals x specs: every spec on every signal, the signals' models stacked together
        plan = Plan(out, resolved, [spec for _ in loaded for spec in specs],
                    [one for _, one in loaded for _ in specs], [name for name, _ in loaded for _ in specs],
                    train_config, gif_every, checkpoint_every)
    cost.check_memory(plan.specs, split, train_config, FLAGS.memory_limit_mb * 2**20 or cost.available_bytes())
    return plan


def check_resumable(out, config):
    """Refuses to resume ``out`` with a config that differs from the one it was started with."""
    saved = _flat_config(rundir.load_record(out)["config"])
    current = _flat_config(config.to_dict())
    refuse_changed(out, saved, current, set(saved) | set(current), "a different run",
                   "resume with the same config")


def _flat_config(tree):
    return {f"config.{key}": json.loads(json.dumps(value)) for key, value in _flatten(tree)}


def join_processes():
    """Joins a multi-host run (``jax.distributed``) when --num_processes > 1; before any JAX computation."""
    if FLAGS.num_processes < 1 or not 0 <= FLAGS.process_id < FLAGS.num_processes:
        raise UsageError(f"--process_id ({FLAGS.process_id}) must be in 0 .. --num_processes - 1 "
                         f"({FLAGS.num_processes - 1})")
    if FLAGS.num_processes > 1:
        if not FLAGS.coordinator_address:
            raise UsageError("--num_processes > 1 needs --coordinator_address (host:port of process 0)")
        parallel.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)


def command():
    """This invocation as a shell command."""
    return " ".join(["python", "-m", "experiments.run", *map(shlex.quote, sys.argv[1:])])


def plans():
    """(out, [Plan] one per arm, the resolved config): every flag, config field and input checked."""
    join_processes()
    if FLAGS.tensorboard:
        runner.tensorboard_writer(None)  # the extra is installed
    config = resolved_config()
    if config.validation and config.arms:
        raise UsageError("config.validation and config.arms exclude each other: give each arm its own config")
    marker = "arms.json" if config.arms else f"{VALIDATION}/config.json" if config.validation else "config.json"
    out = output_folder(FLAGS.out, FLAGS.name, FLAGS.resume, FLAGS.overwrite, marker)
    if config.validation:
        runs = [plan(validation_config(config), out / VALIDATION),
                dataclasses.replace(plan(config, out), validated_by=0)]
        kinds = [data.signals(run.split)[0].kind for run in runs]
        if kinds[0] != kinds[1]:
            raise UsageError(f"config.validation is of kind {kinds[0]} and config.image of kind {kinds[1]}: "
                             "validate on a signal of the same kind")
    else:
        runs = [plan(arm, out if name is None else out / name) for name, arm in arm_configs(config)]
    if FLAGS.resume:
        for run in runs:
            if run.validated_by is None and (run.out / "config.json").is_file():
                check_resumable(run.out, run.config)
    return out, runs, config


def validation_config(config):
    """The config of a validation sweep's sub-run: ``config.validation`` as its signal, on
    ``config.validation_seeds`` seeds, its tables and curves without pictures."""
    if config.validation_seeds < 1:
        raise UsageError(f"config.validation_seeds must be at least 1, got {config.validation_seeds}")
    names = [name.strip() for name in config.encodings.split(",")]
    if not any(name in names and len(values) > 1 for name, values in config.scales.items()):
        raise UsageError("config.validation sweeps the encodings' scales, but no encoding of config.encodings has "
                         "several values in config.scales")
    sweep = copy.deepcopy(config)
    sweep.image, sweep.seeds, sweep.validation = config.validation, config.validation_seeds, None
    sweep.pictures = False  # one drawn model per swept value would weigh megabytes
    return sweep


def chosen_plan(run, validation_rows):
    """``run`` with each encoding that the validation sweep trained at several scales at the one of the best
    mean headline metric of its kind (``signals.Kind.headline``: test PSNR, a shape's IoU;
    ``protocol.best_scales``), checked again (and against its checkpoints when resuming)."""
    headline = signals.get(data.signals(run.split)[0].kind).headline
    choices = protocol.best_scales(validation_rows, headline)
    config = copy.deepcopy(run.config)
    for name, value in choices.items():
        config.scales[name] = (value,)
    chosen = dataclasses.replace(plan(config, run.out), scales_chosen=choices)
    if FLAGS.resume and (run.out / "config.json").is_file():
        check_resumable(run.out, chosen.config)
    return chosen


def record(run):
    """The config.json of a run: its resolved config, the command, what it trained, and where."""
    first = data.signals(run.split)[0]
    names = run.signal_names or [None] * len(run.specs)
    validation = {} if run.scales_chosen is None else {
        "validation": {"folder": VALIDATION, "scales": run.scales_chosen}}
    return {"format": rundir.FORMAT, "command": command(), "config": run.config.to_dict(),
            "kind": first.kind, "image_shape": list(first.image.shape), "checkpoint_every": run.checkpoint_every,
            **validation, "specs": [{**specs_lib.spec_to_dict(spec), **({} if name is None else {"signal": name})}
                                    for spec, name in zip(run.specs, names)], "environment": rundir.environment()}


def main_run():
    """Checks everything, then trains every arm's run and draws the comparison across arms.

    Returns (out, [(label, rows)] of each run): label None for a plain run, "arm NAME" for an arm, "validation
    sweep on SOURCE" and "run on SOURCE at the chosen scales" for a config with a validation signal. Exits with
    status 2 and one line on bad input, before any compute; on SIGINT or SIGTERM, saves checkpoints and
    partial tables and exits with 128 + the signal number, printing the
    command that resumes.
    """
    experiments.quiet_logs()
    try:
        out, runs, config = plans()
    except ValueError as error:
        print(f"run.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    parallel.barrier("flags checked")  # every process has read the output folder before process 0 writes
    if FLAGS.overwrite and parallel.is_primary():
        rundir.clear_run(out)
        for run in runs:
            if run.out != out:
                rundir.clear_run(run.out)
    print(f"{'resuming' if FLAGS.resume else 'writing'} {out}")
    if config.arms and parallel.is_primary() and not FLAGS.resume:
        rundir.write_json(out / "arms.json", {"format": rundir.FORMAT, "command": command(),
                                              "config": config.to_dict(), "arms": [name for name, _ in config.arms]})
    all_rows, labels = [], []
    with runner.stop_on_signals() as received:
        for index, run in enumerate(runs):
            if run.validated_by is not None:
                try:
                    run = chosen_plan(run, all_rows[run.validated_by])
                except ValueError as error:
                    print(f"run.py: error: {error}", file=sys.stderr)
                    sys.exit(2)
                print("scales chosen on the validation signal: "
                      + ", ".join(f"{name} {value:g}" for name, value in run.scales_chosen.items()))
            if config.arms:
                labels.append(f"arm {run.out.name}")
            elif config.validation:
                labels.append(f"validation sweep on {config.validation}" if index == 0 else
                              f"run on {config.image or 'the default image'} at the chosen scales")
            else:
                labels.append(None)
            if len(runs) > 1:
                print(f"{labels[-1]} ({index + 1}/{len(runs)}): {run.out}")
            resume = FLAGS.resume and (run.out / "config.json").is_file()
            rows, finished = runner.run(
                run.out, run.specs, run.split, run.train_config, signal_names=run.signal_names,
                gif_every=run.gif_every,
                pictures=run.config.pictures, model_gifs=run.config.model_gifs, record=record(run), resume=resume,
                checkpoint_every=run.checkpoint_every, stop=received, tensorboard=FLAGS.tensorboard)
            all_rows.append(rows)
            if not finished:
                arguments = [arg for arg in sys.argv[1:] if arg not in ("--resume", "--overwrite")]
                print(f"\ninterrupted: checkpoints and the tables of the {len(rows)} models trained so far are in "
                      f"{run.out}\nresume with: python -m experiments.run {shlex.join(arguments)} --resume")
                sys.exit(128 + received[0])
    if config.arms and parallel.is_primary():
        from nerf_toy_jax import viz

        viz.write_arms_figures(out)
    return out, list(zip(labels, all_rows))
