"""Flags shared by the experiment programs, and their translation into a run.

Each program imports this module (which defines the flags), may change
defaults with ``flags.FLAGS.set_default``, and calls ``main_run``.
"""

import pathlib
import shlex
import sys

from absl import flags

import experiments
from experiments.parsing import UsageError, parse_floats, parse_lr_overrides, parse_seeds, refuse_changed
from nerf_toy_jax import data, datasets, distributed, encodings, experiment, results, sweep, train
from nerf_toy_jax.model import MATMUL_PRECISIONS

FLAGS = flags.FLAGS

flags.DEFINE_string("image", None, "Image path, http(s) URL, or an image of nerf_toy_jax.datasets "
                    "(natural:NAME, text:INDEX). Default: matplotlib's grace_hopper.jpg.")
flags.DEFINE_integer("max_pixels", data.MAX_PIXELS, "Refuse larger images unless --size resizes them.")
flags.DEFINE_float("url_timeout", data.URL_TIMEOUT_S, "Seconds to wait for an image URL to answer.")
flags.DEFINE_integer("size", 64, "Crop to the central square and resize to SIZE x SIZE pixels; 0 keeps the image.")
flags.DEFINE_enum("split", "memorize", data.SPLITS,
                  "memorize: train = test = all pixels; holdout: train [::2, ::2], test [1::2, 1::2].")
flags.DEFINE_list("encodings", list(encodings.ENCODINGS), "Encodings to train.")
flags.DEFINE_list("sigmas", ["10"], "Gaussian scales sigma (cycles per image).")
flags.DEFINE_list("seeds", ["1"], "One number N: seeds 0..N-1; several numbers: those seeds.")
flags.DEFINE_integer("mapping_size", 256, "Gaussian: rows m of B (2m features).")
flags.DEFINE_integer("positional_freqs", 128, "Positional: frequencies per axis (2 x this rows of B).")
flags.DEFINE_float("positional_scale", 6.0, "Positional: frequencies 2^linspace(0, scale, F) - 1 (Tancik et al.).")
flags.DEFINE_bool("positional_octaves", False,
                  "Positional: use the original nerf-toy's octaves sin(pi 2^k v), k < positional_freqs, instead.")
flags.DEFINE_list("hashgrid_finest", ["64"], "Hash grid: finest level resolutions (cells per image), one model each.")
flags.DEFINE_integer("hashgrid_levels", 8, "Hash grid: levels L (resolutions geometric from 4 to the finest).")
flags.DEFINE_integer("hashgrid_log2_table", 14, "Hash grid: 2^T table entries per level; finer levels are hashed.")
flags.DEFINE_list("siren_omegas", ["30"], "SIREN: omega_0 of the first sine layer, one model each.")
flags.DEFINE_integer("steps", 500, "Training steps of every model.")
flags.DEFINE_float("lr", 1e-3, "Adam learning rate of every model but hashgrid (1e-2) and siren (1e-4); "
                   "see --lr_overrides.")
flags.DEFINE_list("lr_overrides", [], "Per-encoding learning rates, e.g. none=1e-2,basic=1e-2.")
flags.DEFINE_integer("depth", 4, "Dense layers in all.")
flags.DEFINE_integer("width", 256, "Hidden units per layer.")
flags.DEFINE_bool("batchnorm", True, "BatchNorm after each hidden ReLU (the original nerf-toy); off: the paper's MLP.")
flags.DEFINE_enum("compute_dtype", "float32", train.COMPUTE_DTYPES,
                  "Compute dtype of the networks' layers after the first; parameters, optimiser state and "
                  "outputs stay float32.")
flags.DEFINE_enum("matmul_precision", "default", list(MATMUL_PRECISIONS),
                  "Precision of the networks' matmuls after the first layer (default: the backend's, TF32 on "
                  "recent NVIDIA GPUs, bfloat16 passes on TPU); encodings and first layers are always full float32.")
flags.DEFINE_enum("stacking", "auto", train.STACKINGS, "How the models of a stack run: vmap (side by side), map (one "
                  "after another in the same program), auto (map on CPU, vmap on accelerators).")
flags.DEFINE_bool("remat", False, "Recompute activations in the backward pass to save memory where models run "
                  "side by side (GPU/TPU); XLA:CPU compiles the recomputation away.")
flags.DEFINE_integer("batch_size", 0, "Random training pixels per step; 0: all of them (full batch).")
flags.DEFINE_integer("max_stack", 0, "At most this many models per compiled stack; 0: no limit.")
flags.DEFINE_integer("memory_limit_mb", 0, "Refuse runs estimated to need more per device; 0: the device's memory.")
flags.DEFINE_integer("eval_every", 25, "Steps between evaluations (and per compiled dispatch).")
flags.DEFINE_integer("gif_every", 25, "Steps between GIF frames; a multiple of --eval_every (when not given: "
                     "this default rounded up to one).")
flags.DEFINE_integer("frame_size", 64, "Longest side of GIF frames in pixels.")
flags.DEFINE_bool("model_gifs", False, "Also write one GIF per model into gifs/.")
flags.DEFINE_string("name", "run", "Run name; the default output folder is results/<name>.")
flags.DEFINE_string("out", None, "Output folder. Default: results/<name>.")
flags.DEFINE_bool("overwrite", False, "Replace an existing run in the output folder.")
flags.DEFINE_bool("resume", False, "Continue the interrupted run in the output folder from its checkpoints.")
flags.DEFINE_integer("checkpoint_every", 100, "Steps between checkpoints of every stack; a multiple of "
                     "--eval_every (when not given: this default rounded up to one).")
flags.DEFINE_integer("num_processes", 1, "Processes (hosts) of a multi-host run; start each with the same flags "
                     "and its own --process_id. Process 0 writes the results.")
flags.DEFINE_integer("process_id", 0, "This process's index in 0 .. num_processes - 1.")
flags.DEFINE_string("coordinator_address", None, "host:port of process 0, reachable from every process "
                    "(needed with --num_processes > 1).")

# Flags that do not change what a run computes: --resume may differ in them.
NOT_IDENTIFYING = ("overwrite", "resume", "checkpoint_every", "url_timeout", "memory_limit_mb", "num_processes",
                   "process_id", "coordinator_address")


def join_processes():
    """Joins a multi-host run (``jax.distributed``) when --num_processes > 1; before any JAX computation."""
    if FLAGS.num_processes < 1 or not 0 <= FLAGS.process_id < FLAGS.num_processes:
        raise UsageError(f"--process_id ({FLAGS.process_id}) must be in 0 .. --num_processes - 1 "
                         f"({FLAGS.num_processes - 1})")
    if FLAGS.num_processes > 1:
        if not FLAGS.coordinator_address:
            raise UsageError("--num_processes > 1 needs --coordinator_address (host:port of process 0)")
        distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)


def specs_from_flags():
    unknown = [name for name in FLAGS.encodings if name not in encodings.ENCODINGS]
    if unknown:
        raise UsageError(f"unknown encoding(s) {', '.join(unknown)}: choose from {', '.join(encodings.ENCODINGS)}")
    if not FLAGS.encodings:
        raise UsageError("--encodings is empty")
    return sweep.make_grid(
        FLAGS.encodings, sigmas=parse_floats("sigmas", FLAGS.sigmas), seeds=parse_seeds(FLAGS.seeds),
        lr=FLAGS.lr, lr_overrides=parse_lr_overrides(FLAGS.lr_overrides),
        scales={"hashgrid": parse_floats("hashgrid_finest", FLAGS.hashgrid_finest),
                "siren": parse_floats("siren_omegas", FLAGS.siren_omegas)},
        hashgrid_levels=FLAGS.hashgrid_levels, hashgrid_log2_table=FLAGS.hashgrid_log2_table,
        mapping_size=FLAGS.mapping_size, positional_freqs=FLAGS.positional_freqs,
        positional_scale=None if FLAGS.positional_octaves else FLAGS.positional_scale)


def config_from_flags():
    return train.TrainConfig(steps=FLAGS.steps, eval_every=FLAGS.eval_every, batch_size=FLAGS.batch_size or None,
                             depth=FLAGS.depth, width=FLAGS.width, batchnorm=FLAGS.batchnorm,
                             frame_size=FLAGS.frame_size, max_stack=FLAGS.max_stack or None,
                             compute_dtype=FLAGS.compute_dtype, remat=FLAGS.remat,
                             matmul_precision=FLAGS.matmul_precision, stacking=FLAGS.stacking)


def output_folder():
    """The run folder, checked against --overwrite and --resume; nothing is written here."""
    out = pathlib.Path(FLAGS.out or pathlib.Path("results") / FLAGS.name)
    if FLAGS.resume and FLAGS.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if out.exists() and not out.is_dir():
        raise UsageError(f"output folder {out} exists and is not a folder")
    holds_run = (out / "config.json").is_file()
    if FLAGS.resume:
        if not holds_run:
            raise UsageError(f"nothing to resume: {out} holds no run (no config.json)")
        saved = results.load_json(out / "config.json")["settings"]
        current = {"program": saved.get("program"), **settings()}
        names = [name for name in set(saved) | set(current) if name not in NOT_IDENTIFYING]
        refuse_changed(out, saved, current, names, "a different run", "resume with the same flags")
    elif out.is_dir() and any(out.iterdir()) and not FLAGS.overwrite:
        raise UsageError(f"output folder {out} already holds {'a run' if holds_run else 'files'}: pass --overwrite "
                         "to replace it, --resume to continue it, or choose another --out/--name")
    return out


def load_split():
    if FLAGS.size < 0:
        raise UsageError(f"--size must be >= 0, got {FLAGS.size}")
    try:
        image = datasets.load_any(FLAGS.image, FLAGS.size or None, max_pixels=FLAGS.max_pixels,
                                  timeout=FLAGS.url_timeout)
    except FileNotFoundError:
        raise UsageError(f"image file not found: {FLAGS.image}") from None
    except IsADirectoryError:
        raise UsageError(f"--image is a folder, not an image file: {FLAGS.image}") from None
    except OSError as error:
        raise UsageError(str(error)) from None
    return data.make_split(image, FLAGS.split)


def every(name):
    """Steps of --NAME (gif_every, checkpoint_every): as given, which must be a positive multiple of
    --eval_every, or when not given its default rounded up to a multiple of --eval_every."""
    value, eval_every = FLAGS[name].value, FLAGS.eval_every
    if not FLAGS[name].present:
        return -(-value // eval_every) * eval_every
    if value <= 0 or value % eval_every:
        raise UsageError(f"--{name} ({value}) must be a positive multiple of --eval_every ({eval_every})")
    return value


def settings():
    """Every flag this module defines, by name, for config.json."""
    return {flag.name: flag.value for flag in FLAGS.get_key_flags_for_module(sys.modules[__name__])}


def main_run(program):
    """Validates every flag and input, then trains and writes the run folder.

    ``program`` is the module name under experiments/. Returns (folder, rows).
    Exits with status 2 and one line on bad input, before any compute; on
    SIGINT or SIGTERM, saves checkpoints and partial tables and exits with
    128 + the signal number, printing the command that resumes.
    """
    experiments.quiet_logs()
    try:
        join_processes()
        specs = specs_from_flags()
        config = config_from_flags()
        gif_every, checkpoint_every = every("gif_every"), every("checkpoint_every")
        out = output_folder()
        split = load_split()
        if config.batch_size and config.batch_size > split.train_pixels[..., 0].size:
            raise UsageError(f"--batch_size {config.batch_size} exceeds the "
                             f"{split.train_pixels[..., 0].size} training pixels")
        experiment.check_memory(specs, split, config, FLAGS.memory_limit_mb * 2**20 or train.available_bytes())
    except ValueError as error:
        print(f"{program}.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    distributed.barrier("flags checked")  # every process has read the output folder before process 0 writes
    if FLAGS.overwrite and distributed.is_primary():
        results.clear_run(out)
    print(f"{'resuming' if FLAGS.resume else 'writing'} {out}")
    with experiment.stop_on_signals() as received:
        rows, finished = experiment.run(
            out, specs, split, config, gif_every=gif_every, model_gifs=FLAGS.model_gifs,
            settings={"program": program, **settings()}, resume=FLAGS.resume,
            checkpoint_every=checkpoint_every, stop=received)
    if not finished:
        arguments = [arg for arg in sys.argv[1:] if arg not in ("--resume", "--overwrite")]
        command = " ".join(["python", "-m", f"experiments.{program}", *map(shlex.quote, arguments), "--resume"])
        print(f"\ninterrupted: checkpoints and the tables of the {len(rows)} models trained so far are in {out}\n"
              f"resume with: {command}")
        sys.exit(128 + received[0])
    return out, rows
