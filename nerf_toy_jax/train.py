"""The trainer: many models of one shape in one jitted XLA program.

The training step is written for ONE model (``train_step``) and lifted over a
leading model axis K by ``map_models`` (``vmap``, or ``lax.map`` one model
after another); ``lax.scan`` runs ``eval_every`` steps per dispatch. A single
model is the same program with K = 1.

Every ``eval_every`` steps each model is evaluated with BatchNorm statistics
computed on the full training set, so that evaluation measures the function
that training optimises (the running averages, decay 0.99, lag far behind a
network that is still learning).
"""

import dataclasses
import functools
import os
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from nerf_toy_jax import data, metrics, sweep
from nerf_toy_jax.model import MATMUL_PRECISIONS, MLP, HashGridMLP, Siren

MODEL_AXIS = "models"
COMPUTE_DTYPES = ("float32", "bfloat16")
STACKINGS = ("auto", "vmap", "map")  # how ``map_models`` runs the models of a stack


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings shared by every model of a sweep.

    Attributes:
      steps: optimiser steps per model.
      eval_every: steps between evaluations (and per compiled dispatch).
      batch_size: random training pixels per step, or None for full batch.
      depth, width, batchnorm: the MLP (see ``model.MLP``); SIREN takes
        depth and width; the hash grid has its own small MLP.
      frame_size: longest side in pixels of the prediction frames kept for GIFs.
      max_stack: at most this many models per compiled stack (None: no limit).
      compute_dtype: "float32", or "bfloat16" for the networks' layers after
        the first (the first layer, parameters, optimiser state, BatchNorm
        statistics, features, loss and outputs stay float32).
      remat: recompute activations in the backward pass (``loss_function``).
        It takes effect where models run side by side (``vmap`` on GPU/TPU);
        XLA:CPU compiles the recomputation away, and there ``map_models``
        already holds one model's activations at a time.
      matmul_precision: precision of the networks' matmuls after the first
        layer (``model.MATMUL_PRECISIONS``: default, high, highest); the
        encodings and every first layer are full float32 on every backend.
      stacking: how the models of a stack run (``map_models``): "vmap" side
        by side, "map" one after another in the same program, "auto" map on
        CPU and vmap elsewhere.
    """

    steps: int = 500
    eval_every: int = 100
    batch_size: int | None = None
    depth: int = 4
    width: int = 256
    batchnorm: bool = True
    frame_size: int = 64
    max_stack: int | None = None
    compute_dtype: str = "float32"
    remat: bool = False
    matmul_precision: str = "default"
    stacking: str = "auto"

    def __post_init__(self):
        for name, choices in (("compute_dtype", COMPUTE_DTYPES), ("matmul_precision", tuple(MATMUL_PRECISIONS)),
                              ("stacking", STACKINGS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        for name in ("steps", "eval_every", "depth", "width", "frame_size"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("batch_size", "max_stack"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


class TrainState(NamedTuple):
    """State of one model; a stack holds every leaf with a leading axis K.

    Attributes:
      params, batch_stats: Flax variables (batch_stats is {} without BatchNorm).
      opt_state: Adam state.
      lr: float32 [] learning rate.
      key: PRNG key for minibatches.
      diverged: bool [], set when the loss or the parameters stop being finite.
      diverged_step: int32 [], the step that diverged, -1 if none.
    """

    params: Any
    batch_stats: Any
    opt_state: Any
    lr: jax.Array
    key: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array


@dataclasses.dataclass
class StackResult:
    """Everything a trained stack of K models produced, as host arrays.

    Attributes:
      specs: the K specs, in stack order.
      eval_steps: int [E] steps at which models were evaluated (0 first).
      loss: float32 [K, steps] training-mode loss (MSE) before each step; NaN once diverged.
      train_loss, train_psnr, test_psnr, test_ssim: float32 [K, E] evaluations.
      frames: uint8 [K, E, h, w, C] predictions on a frame grid of the image.
      variables: {"params", "batch_stats"} with leaves [K, ...]; batch_stats
        are the full-training-set statistics of the final parameters.
      matrices: float32 [K, m, 2] encoding matrices, or None for "none".
      diverged: bool [K]; diverged_step: int [K], -1 if not diverged.
      wall_s: seconds spent training and evaluating the stack, compile included.
      state: the ``TrainState`` stack after the last step (host arrays), to resume from.
    """

    specs: list
    eval_steps: np.ndarray
    loss: np.ndarray
    train_loss: np.ndarray
    train_psnr: np.ndarray
    test_psnr: np.ndarray
    test_ssim: np.ndarray
    frames: np.ndarray
    variables: dict
    matrices: np.ndarray | None
    diverged: np.ndarray
    diverged_step: np.ndarray
    wall_s: float
    state: TrainState

    @property
    def steps_done(self):
        return int(self.eval_steps[-1])


def make_model(config, channels, spec):
    """The network of ``spec``'s encoding under ``config``, with ``channels`` outputs."""
    numerics = {"dtype": config.compute_dtype, "precision": config.matmul_precision}
    if spec.encoding == "hashgrid":
        return HashGridMLP(levels=spec.hashgrid_levels, features=spec.hashgrid_features,
                           log2_table=spec.hashgrid_log2_table, channels=channels, **numerics)
    if spec.encoding == "siren":
        return Siren(depth=config.depth, width=config.width, channels=channels, **numerics)
    return MLP(depth=config.depth, width=config.width, channels=channels, batchnorm=config.batchnorm, **numerics)


def optimizer(model, lr):
    """Adam at ``lr``; for the hash grid with Instant-NGP's beta2 = 0.99 and eps = 1e-15."""
    if isinstance(model, HashGridMLP):
        return optax.adam(lr, b1=0.9, b2=0.99, eps=1e-15)
    return optax.adam(lr)


def _all_finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(tree)]))


def resolved_stacking(stacking):
    """"vmap" or "map": what ``stacking`` (``STACKINGS``) means on the default backend.

    "auto" runs the models one after another on CPU, where XLA turns a
    vmapped matmul into a batched dot that is slower than the plain one
    (``experiments.benchmark --stackings=map,vmap`` measures it), and side
    by side elsewhere, where they fill the device.
    """
    if stacking == "auto":
        return "map" if jax.default_backend() == "cpu" else "vmap"
    return stacking


def map_models(fn, *stacked, stacking="auto"):
    """Applies a one-model function over the leading model axis K of its arguments.

    With "vmap" the models run side by side (``jax.vmap``); with "map" one
    after another inside the same program (``lax.map``: the plain dot of one
    model, one model's activations alive at a time); "auto" chooses by
    backend (``resolved_stacking``). A stack of one model runs unbatched.
    """
    if jax.tree_util.tree_leaves(stacked)[0].shape[0] == 1:
        squeezed = fn(*jax.tree_util.tree_map(lambda x: x[0], stacked))
        return jax.tree_util.tree_map(lambda x: x[None], squeezed)
    if resolved_stacking(stacking) == "map":
        return jax.lax.map(lambda args: fn(*args), stacked)
    return jax.vmap(fn)(*stacked)


def _init_state(model, init_key, batch_key, lr, matrix):
    """The initial ``TrainState`` of one model."""
    variables = model.init(init_key, model.inputs(jnp.zeros((1, 2), jnp.float32), matrix), train=False)
    params = variables["params"]
    return TrainState(
        params=params,
        batch_stats=variables.get("batch_stats", {}),
        opt_state=optimizer(model, lr).init(params),
        lr=jnp.asarray(lr, jnp.float32),
        key=batch_key,
        diverged=jnp.asarray(False),
        diverged_step=jnp.asarray(-1, jnp.int32),
    )


def loss_function(model, batch_stats, features, targets, remat=False):
    """``loss_fn(params) -> (MSE, new batch_stats)`` of one training-mode call on a batch.

    With ``remat``, the backward pass keeps only the matmul (Dense) outputs
    and recomputes the activations and BatchNorm from them
    (``jax.checkpoint`` with ``dots_saveable``): about a third of the
    activation memory, for some elementwise work.
    """
    def loss_fn(params):
        prediction, updates = model.apply(
            {"params": params, "batch_stats": batch_stats}, features, train=True, mutable=["batch_stats"])
        return jnp.mean(jnp.square(prediction - targets)), updates.get("batch_stats", {})

    return jax.checkpoint(loss_fn, policy=jax.checkpoint_policies.dots_saveable) if remat else loss_fn


def batch_indices(key, step, batch_size, count):
    """int32 [batch_size]: the training points of ``step``'s minibatch, drawn with replacement from ``count``."""
    return jax.random.randint(jax.random.fold_in(key, step), (batch_size,), 0, count)


def train_step(model, batch_size, remat, state, step, features, targets):
    """One Adam step of one model.

    Args:
      state: the model's ``TrainState``.
      step: int32 [] global step index.
      features: the network's inputs at the N training points (``model.inputs``).
      targets: [N, C] training colours.

    Returns:
      (new state, float32 [] loss before the step, NaN if already diverged).
    """
    if batch_size is not None:
        index = batch_indices(state.key, step, batch_size, targets.shape[0])
        features, targets = jax.tree_util.tree_map(lambda x: x[index], (features, targets))

    loss_fn = loss_function(model, state.batch_stats, features, targets, remat)
    (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer(model, state.lr).update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    finite = jnp.isfinite(loss) & _all_finite(params)
    diverged = state.diverged | ~finite
    stepped = state._replace(params=params, batch_stats=batch_stats, opt_state=opt_state)
    kept = jax.tree_util.tree_map(lambda old, new: jnp.where(diverged, old, new), state, stepped)
    new_state = kept._replace(
        diverged=diverged,
        diverged_step=jnp.where(diverged & ~state.diverged, step, state.diverged_step))
    return new_state, jnp.where(state.diverged, jnp.nan, loss)


def model_mesh():
    """A one-axis mesh over all devices for the model axis, or None with a single device."""
    devices = jax.devices()
    return None if len(devices) == 1 else Mesh(np.asarray(devices), (MODEL_AXIS,))


def on_devices(fn, mesh, stacked, replicated):
    """``fn(*stacked, *replicated)`` with ``stacked`` (leading axis K) split over ``mesh``.

    Each device runs ``fn`` on its K / devices models (``jax.shard_map``);
    ``replicated`` arguments are whole on every device. Without a mesh, ``fn``
    runs as it is.
    """
    if mesh is None:
        return fn(*stacked, *replicated)
    return jax.shard_map(lambda s, r: fn(*s, *r), mesh=mesh, in_specs=(P(MODEL_AXIS), P()),
                         out_specs=P(MODEL_AXIS), check_vma=False)(tuple(stacked), tuple(replicated))


@functools.partial(jax.jit, static_argnames=("model", "batch_size", "num_steps", "remat", "stacking", "mesh"),
                   donate_argnums=(0,))
def train_chunk(states, matrices, coords, targets, start, *, model, batch_size, num_steps, remat=False,
                stacking="auto", mesh=None):
    """``num_steps`` steps of every model: the one-model scan over steps, mapped over K.

    Args:
      states: ``TrainState`` stacked on K (donated), split over ``mesh`` if given.
      matrices: the models' encoding arrays [K, ...] (``sweep.ModelSpec.matrix``) or None.
      coords: [N, d] training coordinates; targets: [N, C].
      start: int32 [] index of the first step.
      model, batch_size, num_steps, remat, stacking: the network,
        ``TrainConfig.batch_size``, steps to run, ``TrainConfig.remat`` and ``.stacking``.

    Returns:
      (states, float32 [K, num_steps] losses).
    """
    steps = start + jnp.arange(num_steps, dtype=jnp.int32)

    def per_device(states, matrices, coords, targets, steps):
        def one_model(state, matrix):
            features = model.inputs(coords, matrix)

            def body(carry, step):
                return train_step(model, batch_size, remat, carry, step, features, targets)

            return jax.lax.scan(body, state, steps)

        return map_models(one_model, states, matrices, stacking=stacking)

    return on_devices(per_device, mesh, (states, matrices), (coords, targets, steps))


EVAL_CHUNK = 2**14  # points per evaluation-mode call: bounds evaluation memory


def _chunks(flat):
    """[n, d] points -> ([chunks, size, d] zero-padded, float32 [chunks, size, 1] weights: 1 real, 0 padding)."""
    count = flat.shape[0]
    size = min(count, EVAL_CHUNK)
    chunks = -(-count // size)
    padded = jnp.pad(flat, ((0, chunks * size - count), (0, 0))).reshape(chunks, size, flat.shape[-1])
    weights = (jnp.arange(chunks * size) < count).astype(jnp.float32).reshape(chunks, size, 1)
    return padded, weights


def _predict(model, variables, matrix, coords):
    """Evaluation-mode colours at ``coords`` [..., d] -> [..., C].

    The points go through the network ``EVAL_CHUNK`` at a time (``lax.map``),
    so that evaluating needs one chunk's features and activations, not the
    whole image's.
    """
    flat = coords.reshape(-1, coords.shape[-1])
    padded, _ = _chunks(flat)
    colours = jax.lax.map(lambda points: model.apply(variables, model.inputs(points, matrix), train=False), padded)
    return colours.reshape(-1, colours.shape[-1])[:flat.shape[0]].reshape(coords.shape[:-1] + (-1,))


def data_statistics(model, params, batch_stats, matrix, coords):
    """BatchNorm statistics of ``params`` over all of ``coords`` [..., d], ``EVAL_CHUNK`` points at a time.

    Layer by layer: with the statistics of the layers before it fixed, the
    mean and (biased) variance of each BatchNorm's inputs are summed over
    the chunks. The result makes the evaluation-mode network equal the
    training-mode network applied to the full batch ``coords``.

    Returns:
      batch_stats {"BatchNorm_l": {"mean", "var"}} ({} without BatchNorm).
    """
    if not model.batchnorm:
        return batch_stats
    flat = coords.reshape(-1, coords.shape[-1])
    padded, weights = _chunks(flat)
    stats = batch_stats
    for layer in range(model.depth - 1):
        def sums(chunk, stats=stats, layer=layer):
            points, weight = chunk
            _, sown = model.apply({"params": params, "batch_stats": stats}, model.inputs(points, matrix),
                                  train=False, mutable=["batchnorm_inputs"])
            x = sown["batchnorm_inputs"][str(layer)][0].astype(jnp.float32)
            return jnp.sum(weight * x, axis=0), jnp.sum(weight * x * x, axis=0)

        first, second = jax.tree_util.tree_map(lambda total: jnp.sum(total, axis=0) / flat.shape[0],
                                               jax.lax.map(sums, (padded, weights)))
        # flax's BatchNorm: var = E[x^2] - E[x]^2, clipped at 0
        stats = {**stats, f"BatchNorm_{layer}": {"mean": first, "var": jnp.maximum(0.0, second - first * first)}}
    return stats


@functools.partial(jax.jit, static_argnames=("model", "stacking", "mesh"))
def _evaluate(states, matrices, split_arrays, frame_coords, *, model, stacking="auto", mesh=None):
    """Evaluates every model with full-training-set BatchNorm statistics.

    Returns:
      (batch_stats [K, ...], metrics {name: float32 [K]}, frames uint8 [K, h, w, C]).
    """

    def per_device(states, matrices, train_coords, train_pixels, test_coords, test_pixels, frame_coords):
        def one_model(state, matrix):
            batch_stats = data_statistics(model, state.params, state.batch_stats, matrix, train_coords)
            variables = {"params": state.params, "batch_stats": batch_stats}
            train_pred = _predict(model, variables, matrix, train_coords)
            test_pred = _predict(model, variables, matrix, test_coords)
            frame = _predict(model, variables, matrix, frame_coords)
            train_loss = metrics.mse(train_pred, train_pixels)
            scores = {
                "train_loss": train_loss,
                "train_psnr": metrics.psnr_from_mse(train_loss),
                "test_psnr": metrics.psnr(test_pred, test_pixels),
                "test_ssim": metrics.ssim(test_pred, test_pixels),
            }
            return batch_stats, scores, jnp.round(frame * 255.0).astype(jnp.uint8)

        return map_models(one_model, states, matrices, stacking=stacking)

    return on_devices(per_device, mesh, (states, matrices), (*split_arrays, frame_coords))


def frame_shape(height, width, frame_size):
    """(h, w) of prediction frames: the image shape scaled so the longest side is at most ``frame_size``."""
    scale = min(1.0, frame_size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def init_stack(specs, split, config):
    """Initial ``TrainState`` of ``specs`` (one ``stack_key``), stacked on K: one model's init mapped over K."""
    if len({spec.stack_key for spec in specs}) != 1:
        raise ValueError("a stack needs specs whose encodings have one shape")
    model = make_model(config, split.image.shape[-1], specs[0])
    keys = jnp.stack([spec.keys() for spec in specs])
    lrs = jnp.asarray([spec.lr for spec in specs], jnp.float32)
    matrices = sweep.stack_matrices(specs)
    return _init_states(keys, lrs, None if matrices is None else jnp.asarray(matrices), model=model,
                        stacking=config.stacking)


@functools.partial(jax.jit, static_argnames=("model", "stacking"))
def _init_states(keys, lrs, matrices, *, model, stacking):
    return map_models(functools.partial(_init_state, model), keys[:, 1], keys[:, 2], lrs, matrices,
                      stacking=stacking)


def _pad(tree, count):
    """Appends ``count`` copies of the last model along the leading axis of every leaf."""
    if not count:
        return tree
    return jax.tree_util.tree_map(lambda x: jnp.concatenate([x, jnp.repeat(x[-1:], count, axis=0)]), tree)


def place(states, matrices, mesh):
    """Pads a stack to a multiple of the mesh's devices (copies of the last
    model, dropped from the results) and splits it over them along K.

    The arrays go through the host, so that with several processes
    (``jax.distributed``) each one places its own devices' models.
    """
    if mesh is None:
        return states, matrices
    count = (-len(states.lr)) % mesh.size
    sharding = NamedSharding(mesh, P(MODEL_AXIS))

    def split(tree):
        return jax.device_put(jax.tree_util.tree_map(np.asarray, _pad(tree, count)), sharding)

    return split(states), None if matrices is None else split(jnp.asarray(matrices))


def replicate(arrays, mesh):
    """``arrays`` as device arrays, whole on every device of ``mesh`` (if any)."""
    if mesh is None:
        return tuple(jnp.asarray(a) for a in arrays)
    return tuple(jax.device_put(np.asarray(a), NamedSharding(mesh, P())) for a in arrays)


def to_host(tree):
    """Every leaf of ``tree`` as a numpy array; arrays split over several
    processes are gathered from all of them first."""
    def one(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    return jax.tree_util.tree_map(one, tree)


def chunk_inputs(specs, split, config, mesh=None):
    """(states, matrices, coords, targets) of a fresh stack, placed on ``mesh``: the arguments of ``train_chunk``."""
    channels = split.image.shape[-1]
    states, matrices = place(init_stack(specs, split, config), sweep.stack_matrices(specs), mesh)
    return (states, matrices, *replicate((split.train_coords.reshape(-1, 2),
                                          split.train_pixels.reshape(-1, channels)), mesh))


def compile_chunk(specs, split, config, num_steps, mesh=None):
    """Ahead-of-time compiled ``train_chunk`` of ``specs``, and its arguments.

    Returns:
      (compiled, args): ``compiled(*args, start)`` runs ``num_steps`` steps
      and returns (states, losses); ``compiled.memory_analysis()`` tells its
      memory.
    """
    args = chunk_inputs(specs, split, config, mesh)
    model = make_model(config, split.image.shape[-1], specs[0])
    lowered = train_chunk.lower(*args, jnp.int32(0), model=model, batch_size=config.batch_size,
                                num_steps=num_steps, remat=config.remat, stacking=config.stacking, mesh=mesh)
    return lowered.compile(), args


def evaluation_inputs(split, config, mesh=None):
    """(train coords, train colours, test coords, test colours) and the frame grid, replicated on ``mesh``:
    the data arguments of ``_evaluate``."""
    *arrays, frame_coords = replicate(
        (split.train_coords, split.train_pixels, split.test_coords, split.test_pixels,
         data.coordinate_grid(*frame_shape(*split.image.shape[:2], config.frame_size))), mesh)
    return tuple(arrays), frame_coords


def compile_evaluate(specs, split, config, mesh=None):
    """Ahead-of-time compiled ``_evaluate`` of a fresh stack of ``specs`` (for its ``memory_analysis()``)."""
    states, matrices, *_ = chunk_inputs(specs, split, config, mesh)
    model = make_model(config, split.image.shape[-1], specs[0])
    return _evaluate.lower(states, matrices, *evaluation_inputs(split, config, mesh), model=model,
                           stacking=config.stacking, mesh=mesh).compile()


def _tree_bytes(tree):
    """Bytes of the arrays (or shapes) of ``tree``."""
    return sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree_util.tree_leaves(tree))


def _values_per_point(model, remat, train):
    """Float32 values per point that a training step keeps for its backward pass (``train``), or that an
    evaluation-mode call holds, beyond the network's first-layer inputs."""
    if isinstance(model, HashGridMLP):  # the gathered corner entries and features, then a plain MLP
        inner = MLP(depth=model.depth, width=model.width, channels=model.channels, batchnorm=False)
        return 5 * model.levels * model.features + _values_per_point(inner, remat, train)
    if not train:
        return (model.depth + 1) * model.width
    hidden = model.width * (model.depth - 1)
    if remat and jax.default_backend() != "cpu":  # Dense outputs kept, one layer recomputed at a time
        return hidden + 4 * model.width
    per_unit = 3 if model.batchnorm else 2  # Dense output, activation (, BatchNorm)
    return per_unit * hidden + 2 * model.width  # + two layers of gradients in flight


def memory_estimate(specs, split, config, mesh=None):
    """Estimated peak bytes on one device of training and evaluating a stack of ``specs`` (one ``stack_key``).

    The larger of the two programs. Training: per model on the device its
    state (parameters, batch statistics, Adam moments) and gradients, and
    for the models that run at once (``models_at_once``) the per-dispatch
    inputs of every training point (``model.inputs``: features, hash-grid
    corners) and what the backward pass keeps for the points of a step.
    Evaluation: the state, and per model at once one chunk of
    ``EVAL_CHUNK`` points through the network, and the predictions. Both
    count the replicated data (coordinates and colours). Checked against
    XLA's buffer assignment in the tests.
    """
    channels = split.image.shape[-1]
    model = make_model(config, channels, specs[0])
    matrix = sweep.stack_matrices(specs[:1])
    matrix = None if matrix is None else jnp.asarray(matrix[0])
    per_device = -(-len(specs) // (1 if mesh is None else mesh.size))
    at_once = models_at_once(len(specs), config.stacking, mesh)
    train_points = split.train_pixels[..., 0].size
    eval_points = train_points + split.test_pixels[..., 0].size
    inputs = _tree_bytes(jax.eval_shape(lambda: model.inputs(jnp.zeros((train_points, 2)), matrix)))
    shapes = jax.eval_shape(lambda: _init_state(model, jax.random.PRNGKey(0), jax.random.PRNGKey(0), 0.0, matrix))
    state = _tree_bytes(shapes)
    variables = _tree_bytes((shapes.params, shapes.batch_stats))  # as many bytes again for the gradients
    data_bytes = 4 * (train_points + eval_points) * (2 + channels)
    batch = config.batch_size or train_points
    kept = _values_per_point(model, config.remat, True) + 2 * channels
    step = 4 * batch * (kept + (specs[0].feature_dim if config.batch_size else 0))  # + the gathered minibatch
    # computing the inputs holds intermediates about as large as them, before the steps run
    training = per_device * (state + variables) + at_once * (inputs + max(inputs, step)) + data_bytes
    chunk = min(EVAL_CHUNK, train_points)
    forward = inputs // train_points + 4 * (_values_per_point(model, False, False) + channels)
    evaluation = per_device * state + at_once * (chunk * forward + 4 * eval_points * channels) + data_bytes
    return max(training, evaluation)


def models_at_once(count, stacking="auto", mesh=None):
    """How many models of a stack of ``count`` run at once on one device (see ``map_models``)."""
    per_device = -(-count // (1 if mesh is None else mesh.size))
    return 1 if per_device == 1 or resolved_stacking(stacking) == "map" else per_device


def available_bytes():
    """Memory of one device: the accelerator's limit, or the host's physical memory on CPU."""
    stats = jax.local_devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def peak_bytes(compiled):
    """Device bytes an ahead-of-time compiled program holds at once: arguments,
    outputs not aliased to (donated) arguments, and temporaries."""
    stats = compiled.memory_analysis()
    return (stats.argument_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes
            + stats.temp_size_in_bytes)


def train_stack(specs, split, config, on_eval=None, resume_from=None, checkpoint_every=None, on_checkpoint=None,
                should_stop=None):
    """Trains specs of one ``stack_key`` together, from scratch or from a partial result.

    Args:
      specs: K ``ModelSpec`` with equal ``stack_key``.
      split: a ``data.Split``.
      config: a ``TrainConfig``.
      on_eval: optional ``on_eval(step, scores)`` called after every
        evaluation with ``scores`` {name: float32 [K]} and "diverged" bool [K].
      resume_from: optional partial ``StackResult`` of the same specs to continue.
      checkpoint_every: steps between calls of ``on_checkpoint`` (a multiple
        of ``config.eval_every``).
      on_checkpoint: optional ``on_checkpoint(partial StackResult)``.
      should_stop: optional ``should_stop() -> bool``, asked after every
        chunk; when true, training stops and the partial result is returned.

    Returns:
      a ``StackResult``; ``steps_done < config.steps`` when stopped early.
      Resuming a partial result ends bit-for-bit where an uninterrupted run
      ends: the chunks, keys and evaluations are the same.
    """
    if config.batch_size is not None and config.batch_size > split.train_pixels[..., 0].size:
        raise ValueError(f"batch_size {config.batch_size} exceeds the {split.train_pixels[..., 0].size} training pixels")
    started = time.perf_counter()
    channels = split.image.shape[-1]
    model = make_model(config, channels, specs[0])
    mesh = model_mesh()
    count = len(specs)
    states, matrices, coords, targets = chunk_inputs(specs, split, config, mesh)
    split_arrays, frame_coords = evaluation_inputs(split, config, mesh)

    scores_names = ("train_loss", "train_psnr", "test_psnr", "test_ssim")
    # per-evaluation arrays, concatenated along the step axis at the end
    history = {"eval_steps": [], "loss": [], "frames": [], **{name: [] for name in scores_names}}
    previous_wall_s = 0.0

    def evaluate(step):
        batch_stats, scores, frame = _evaluate(states, matrices, split_arrays, frame_coords, model=model,
                                               stacking=config.stacking, mesh=mesh)
        scores, diverged, frame = jax.tree_util.tree_map(lambda x: x[:count],
                                                         to_host((scores, states.diverged, frame)))
        scores["diverged"] = diverged
        history["eval_steps"].append(np.asarray([step]))
        for name in scores_names:
            history[name].append(scores[name][:, None])
        history["frames"].append(frame[:, None])
        if on_eval is not None:
            on_eval(step, scores)
        return batch_stats

    def snapshot():
        joined = {name: np.concatenate(parts, axis=0 if name == "eval_steps" else 1) if parts
                  else np.zeros((count, 0), np.float32) for name, parts in history.items()}
        host, stats, host_matrices = jax.tree_util.tree_map(lambda x: x[:count],
                                                            to_host((states, batch_stats, matrices)))
        return StackResult(
            specs=list(specs), eval_steps=joined["eval_steps"], loss=joined["loss"],
            **{name: joined[name] for name in scores_names}, frames=joined["frames"],
            variables={"params": host.params, "batch_stats": stats},
            matrices=host_matrices,
            diverged=host.diverged, diverged_step=host.diverged_step,
            wall_s=previous_wall_s + time.perf_counter() - started, state=host)

    if resume_from is None:
        batch_stats = evaluate(0)
    else:
        states, _ = place(jax.tree_util.tree_map(jnp.asarray, resume_from.state), None, mesh)
        batch_stats = resume_from.variables["batch_stats"]
        for name in history:
            history[name].append(getattr(resume_from, name))
        previous_wall_s = resume_from.wall_s
    first = 0 if resume_from is None else resume_from.steps_done
    for start in range(first, config.steps, config.eval_every):
        num_steps = min(config.eval_every, config.steps - start)
        states, chunk_losses = train_chunk(states, matrices, coords, targets, jnp.int32(start), model=model,
                                           batch_size=config.batch_size, num_steps=num_steps, remat=config.remat,
                                           stacking=config.stacking, mesh=mesh)
        history["loss"].append(to_host(chunk_losses)[:count])
        batch_stats = evaluate(start + num_steps)
        done = start + num_steps
        if done < config.steps:
            if on_checkpoint is not None and checkpoint_every and done % checkpoint_every == 0:
                on_checkpoint(snapshot())
            if should_stop is not None and should_stop():
                break
    return snapshot()


@functools.partial(jax.jit, static_argnames=("model",))
def _predict_jit(variables, matrix, coords, *, model):
    return _predict(model, variables, matrix, coords)


def render(config, channels, spec, variables, matrix, height, width, rows_per_call=64):
    """Evaluates one trained model on a pixel grid of any resolution.

    Args:
      config: the run's ``TrainConfig`` (for the architecture).
      channels: output channels C.
      spec: the model's ``ModelSpec``.
      variables: {"params", "batch_stats"} of one model.
      matrix: its encoding array (``spec.matrix()``), or None.
      height, width: grid size; the coordinates are ``data.coordinate_grid``.
      rows_per_call: image rows evaluated per call, bounding memory.

    Returns:
      float32 [height, width, C] in [0, 1].
    """
    model = make_model(config, channels, spec)
    grid = data.coordinate_grid(height, width)
    parts = [_predict_jit(variables, matrix, jnp.asarray(grid[top:top + rows_per_call]), model=model)
             for top in range(0, height, rows_per_call)]
    return np.concatenate([np.asarray(part) for part in parts])


def train_sweep(specs, split, config, on_eval=None):
    """Trains every spec, one compiled program per group of equal ``stack_key``.

    Args:
      specs: list of ``ModelSpec``.
      split, config: as for ``train_stack``.
      on_eval: optional ``on_eval(stack_specs, step, scores)``.

    Returns:
      list of ``StackResult``, one per group, in order of first appearance.
    """
    results = []
    for indices in sweep.group_specs(specs, config.max_stack):
        stack_specs = [specs[i] for i in indices]
        callback = None if on_eval is None else functools.partial(on_eval, stack_specs)
        results.append(train_stack(stack_specs, split, config, callback))
    return results
