"""The flags of the run program, turned into one call of ``nerf_toy_jax.experiment.run_experiment``.

An experiment is a config file (``experiments/configs/*.py``, ml_collections):
``--config=FILE`` and ``--config.FIELD=VALUE`` overrides. Four shorthands
that people type most set config fields: ``--image``, ``--encodings``,
``--steps`` (``config.train.steps``) and ``--name``. The other flags say how
this invocation runs (where it writes, resuming, processes: the library's
``Options``) and never change what it computes. config.json holds the
resolved config, which is the run.
"""

import copy
import pathlib
import shlex
import sys

from absl import flags
from ml_collections import config_flags

import experiments
from experiments.parsing import RUNS, UsageError
from nerf_toy_jax import data, encodings, experiment, parallel

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
flags.DEFINE_integer("checkpoint_every", experiment.CHECKPOINT_EVERY, "Steps between checkpoints of every stack, "
                     "rounded up to a multiple of eval_every when not given.")
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


def main_run():
    """The flags to ``experiment.run_experiment``: returns its ``Run``. Exits with status 2 and one line on bad
    input, before any compute; on SIGINT or SIGTERM (checkpoints and partial tables saved) exits with 128 + the
    signal number, printing the command that resumes."""
    experiments.quiet_logs()
    try:
        join_processes()
        config = resolved_config()
        out = pathlib.Path(FLAGS.out or pathlib.Path(RUNS) / FLAGS.name)
        run = experiment.run_experiment(
            config, out, resume=FLAGS.resume, overwrite=FLAGS.overwrite,
            checkpoint_every=FLAGS.checkpoint_every if FLAGS["checkpoint_every"].present else None,
            tensorboard=FLAGS.tensorboard, max_pixels=FLAGS.max_pixels, url_timeout=FLAGS.url_timeout,
            memory_limit_mb=FLAGS.memory_limit_mb, command=command())
    except (UsageError, experiment.BadInput) as error:
        print(f"run.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    if run.stopped_by is not None:
        arguments = [arg for arg in sys.argv[1:] if arg not in ("--resume", "--overwrite")]
        trained = len(run.trained()[-1].rows)
        print(f"\ninterrupted: checkpoints and the tables of the {trained} models trained so far are "
              f"in {run.stopped_in}\nresume with: python -m experiments.run {shlex.join(arguments)} --resume")
        sys.exit(128 + run.stopped_by)
    return run
