"""Run folders: metric tables, histories, frames and checkpoints on disk, and back.

A run folder holds:
  config.json        the resolved config, the command, the specs, library versions, device, git commit
  metrics.csv/.json  one row per model
  metrics.md         mean ± std over seeds per (encoding, sigma, lr), sorted by test PSNR
  history.npz        per-model curves (see ``history_arrays``)
  frames.npz         uint8 prediction frames at the GIF steps, of the GIF's models
  image.png          the training image (8 bits per channel)
  reconstructions/   final prediction of one model per group at the image's resolution
  checkpoints/       every stack's state, curves and encoding matrices (flax msgpack; ``write_stack``)

config.json and every checkpoint carry ``format`` (``FORMAT``); folders of
an older format still load. The metric columns, curves and checkpoint
entries follow ``metrics.METRICS``, the parameter columns the encoding
registry. Every file is written to a temporary name and renamed, so a crash leaves the
old file or the new one, never a truncated one.
"""

import csv
import io
import json
import math
import os
import pathlib
import platform
import re
import shutil
import subprocess
import tempfile

import flax.serialization
import jax
import numpy as np
from PIL import Image

from nerf_toy_jax import metrics, specs as specs_lib, tables
from nerf_toy_jax.state import StackResult

FORMAT = 2  # of run folders and checkpoints; 1: every metric and the parameters twice in each checkpoint
RUN_FILES = ("config.json", "metrics.csv", "metrics.json", "metrics.md", "signals.md", "history.npz", "frames.npz",
             "image.png", "signal.npz", "predictions.npz", "spectrum.png", "video.gif", "per_frame.png", "orbit.gif",
             "per_view.png", "depth.png", "meshes",
             "mesh.png", "curves.png", "final.png",
             "convergence.gif", "psnr_vs_scale.png", "psnr_vs_scale.md", "checkpoints", "reconstructions", "gifs",
             "renders", "tensorboard", "arms.json", "arms.md", "arms.png")


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def clear_run(out, names=RUN_FILES):
    """Removes the files and folders ``names`` (default: those of a run) from ``out``, and nothing else."""
    for name in names:
        path = pathlib.Path(out) / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def write_bytes(path, payload):
    """Writes ``payload`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_UMASK)
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def write_text(path, text):
    """Writes UTF-8 ``text`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    """Writes ``obj`` as indented strict JSON atomically: NumPy scalars and arrays become numbers and lists, and
    NaN and infinities null (an SSIM on a grid too small for its window; ``load_rows`` reads them back)."""
    write_text(path, json.dumps(_strict(obj), indent=2, allow_nan=False) + "\n")


def _strict(value):
    """``value`` with NumPy values as Python ones and non-finite floats as None."""
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_strict(item) for item in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_npz(path, **arrays):
    """Writes ``arrays`` as a compressed .npz atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def environment():
    """Library versions, device kind, host CPU and the git commit of the working directory, if any."""
    import flax
    import jaxlib
    import optax

    versions = {"python": platform.python_version(), "jax": jax.__version__, "jaxlib": jaxlib.__version__,
                "flax": flax.__version__, "optax": optax.__version__, "numpy": np.__version__}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                                cwd=pathlib.Path(__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    devices = jax.devices()
    return {"versions": versions, "device_kind": devices[0].device_kind, "device_count": len(devices),
            "process_count": jax.process_count(), "platform": devices[0].platform, "host_cpu": host_cpu(),
            "cpu_count": os.cpu_count(), "git_commit": commit}


def hardware(environment):
    """Where a result was made, in words: the accelerator's kind, or the host CPU and its cores."""
    if environment["platform"] == "cpu":
        return f"{environment['host_cpu']}, {environment['cpu_count']} cores"
    return f"{environment['device_count']} x {environment['device_kind']}"


def device_folder_name(device_kind):
    """A device kind as a folder name: "NVIDIA H100 80GB HBM3" -> "nvidia-h100-80gb-hbm3"."""
    return re.sub(r"[^a-z0-9]+", "-", device_kind.lower()).strip("-") or "device"


def host_cpu():
    """The host CPU's model name (Linux: /proc/cpuinfo), else ``platform.processor()``, else "unknown"."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_metrics(out, rows):
    """Writes metrics.csv, metrics.json and metrics.md into ``out``."""
    out = pathlib.Path(out)
    buffer = io.StringIO()
    columns = [name for name in tables.COLUMNS if name not in metrics.NAMES or name in rows[0]]  # the kind's metrics
    if "signal" in rows[0]:
        columns.insert(1, "signal")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows([{key: ("" if value is None else value) for key, value in row.items()} for row in rows])
    write_text(out / "metrics.csv", buffer.getvalue())
    write_json(out / "metrics.json", rows)
    write_text(out / "metrics.md", tables.markdown_table(rows))


def history_arrays(stacks):
    """Per-model curves of all stacks, models in ``tables.ordered`` order.

    Returns:
      dict: labels [M] str, eval_steps [E], loss [M, S] (training-mode MSE
      before each step), every metric evaluated [M, E],
      diverged [M] bool, diverged_step [M].
    """
    names = ("loss", "diverged", "diverged_step")
    arrays = {name: np.concatenate([getattr(stack, name) for stack in stacks]) for name in names}
    arrays.update({name: np.concatenate([stack.scores[name] for stack in stacks]) for name in stacks[0].scores})
    arrays["labels"] = np.asarray([spec.label for spec, _, _ in tables.ordered(stacks)])
    arrays["eval_steps"] = stacks[0].eval_steps
    return arrays


def write_history(out, stacks):
    """Writes ``history_arrays(stacks)`` to history.npz."""
    write_npz(pathlib.Path(out) / "history.npz", **history_arrays(stacks))


def load_json(path):
    """The JSON value stored at ``path``."""
    return json.loads(pathlib.Path(path).read_text())


def load_rows(path):
    """The per-model rows of metrics.json (or a reproduction's rows.json), each metric a float: null (what
    ``write_json`` writes for NaN) and the bare NaN of older folders both read as NaN."""
    return [{name: math.nan if value is None and name in metrics.NAMES else value for name, value in row.items()}
            for row in load_json(path)]


def load_record(out):
    """config.json of a run folder, in the current format: "config" holds (at least) image, split, train,
    gif_every and model_gifs. Format 1 kept the command's flags under "settings" and those fields beside them."""
    record = load_json(pathlib.Path(out) / "config.json")
    if record.get("format", 1) == 1:
        record["config"] = {"image": record["settings"].get("image"), "split": record["split"],
                            "train": record["train"], "gif_every": record["gif_every"],
                            "model_gifs": record["model_gifs"]}
    return record


def write_png(path, image):
    """[H, W, C] float32 in [0, 1] (C = 1 or 3) -> 8-bit PNG, written atomically."""
    pixels = np.round(np.clip(np.asarray(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    write_bytes(path, buffer.getvalue())


def reconstruction_path(out, index):
    """reconstructions/model_XXXX.png: final prediction of model ``index`` at the image's resolution."""
    return pathlib.Path(out) / "reconstructions" / f"model_{index:04d}.png"


def load_history(out):
    """The arrays of history.npz (see ``history_arrays``), loaded into memory."""
    with np.load(pathlib.Path(out) / "history.npz") as archive:
        return {name: archive[name] for name in archive.files}


def gif_indices(eval_steps, gif_every):
    """Indices into ``eval_steps`` of the evaluations that become GIF frames (step 0, every ``gif_every``, last)."""
    steps = np.asarray(eval_steps)
    return np.flatnonzero((steps % gif_every == 0) | (steps == steps[-1]))


def write_frames(out, stacks, gif_every, models):
    """frames.npz: uint8 frames [P, G, h, w, C] of the ``models`` [P] (indices) at steps ``frame_steps`` [G]."""
    keep = gif_indices(stacks[0].eval_steps, gif_every)
    frames = np.concatenate([stack.frames[:, keep] for stack in stacks])[np.asarray(models)]
    write_npz(pathlib.Path(out) / "frames.npz", frames=frames, frame_steps=stacks[0].eval_steps[keep],
              models=np.asarray(models))


def load_frames(out):
    """{"frames": uint8 [P, G, h, w, C], "frame_steps": [G], "models": [P] model indices}."""
    with np.load(pathlib.Path(out) / "frames.npz") as archive:
        return {name: archive[name] for name in archive.files}


def stack_path(out, stack_index):
    """checkpoints/stack_XXX.msgpack of stack ``stack_index`` (stacks in ``specs.group_specs`` order)."""
    return pathlib.Path(out) / "checkpoints" / f"stack_{stack_index:03d}.msgpack"


def write_stack(out, stack_index, stack):
    """Checkpoints a (partial or final) ``StackResult``: specs, curves, frames, BatchNorm statistics,
    encoding matrices and the training state with the parameters (flax msgpack)."""
    payload = {"format": FORMAT, "specs": [specs_lib.spec_to_dict(spec) for spec in stack.specs],
               "eval_steps": stack.eval_steps, "loss": stack.loss, "scores": stack.scores, "frames": stack.frames,
               "batch_stats": stack.batch_stats, "matrices": stack.matrices, "wall_s": stack.wall_s,
               "state": flax.serialization.to_state_dict(stack.state)}
    write_bytes(stack_path(out, stack_index), flax.serialization.msgpack_serialize(payload))


def _read_stack(out, stack_index):
    """A checkpoint's payload in the current format (format 1 converted)."""
    path = stack_path(out, stack_index)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint of stack {stack_index} in {out} (looked for {path})")
    payload = flax.serialization.msgpack_restore(path.read_bytes())
    if payload.get("format", 1) == 1:  # the metrics as fields, the parameters also under "variables"
        payload["scores"] = {name: payload.pop(name) for name in ("train_loss", "train_psnr", "test_psnr",
                                                                   "test_ssim")}
        payload["batch_stats"] = payload.pop("variables")["batch_stats"]
    return payload


def load_stack(out, stack_index, target_state, metric_names):
    """The ``StackResult`` saved by ``write_stack``; ``target_state`` (e.g. ``train.init_stack``)
    gives the structure of the training state, ``metric_names`` the metrics it must hold (its signal's
    kind's)."""
    payload = _read_stack(out, stack_index)
    missing = [name for name in metric_names if name not in payload["scores"]]
    if missing:
        raise ValueError(f"{stack_path(out, stack_index)} has no {', '.join(missing)}: it was written before that "
                         "metric existed; train the run again to record it")
    return StackResult(specs=[specs_lib.spec_from_dict(spec) for spec in payload["specs"]],
                       eval_steps=payload["eval_steps"], loss=payload["loss"],
                       scores={name: payload["scores"][name] for name in metric_names}, frames=payload["frames"],
                       batch_stats=payload["batch_stats"], matrices=payload["matrices"], wall_s=payload["wall_s"],
                       state=flax.serialization.from_state_dict(target_state, payload["state"]))


def checkpoint_location(specs, max_stack, dim, index):
    """(stack index, position in the stack) of model ``index`` (the order of metrics.csv: stack after stack)
    of a run on coordinates of ``dim`` axes."""
    groups = specs_lib.group_specs(specs, max_stack, dim)
    return [(stack_index, k) for stack_index, group in enumerate(groups) for k in range(len(group))][index]


def signal_dim(record):
    """Coordinate axes d of the signal of a run's config.json record: its "image_shape" is [*S, C] (views of a
    scene: [n, H, W, C], the 3 axes of the points the network sees); records of format 1 may lack it, and were
    all of images (d = 2)."""
    return len(record["image_shape"]) - 1 if "image_shape" in record else 2


def load_checkpoint(out, index):
    """(spec, variables, matrix or None) of model ``index`` of a finished run folder."""
    record = load_record(out)
    specs = [specs_lib.spec_from_dict(spec) for spec in record["specs"]]
    if not 0 <= index < len(specs):
        raise ValueError(f"no model {index} in {out}: indices run from 0 to {len(specs) - 1}")
    stack_index, k = checkpoint_location(specs, record["config"]["train"]["max_stack"], signal_dim(record), index)
    payload = _read_stack(out, stack_index)
    variables = jax.tree_util.tree_map(lambda leaf: leaf[k], {"params": payload["state"]["params"],
                                                              "batch_stats": payload["batch_stats"]})
    matrix = None if payload["matrices"] is None else payload["matrices"][k]
    return specs_lib.spec_from_dict(payload["specs"][k]), variables, matrix
