"""What a stack costs: matmul FLOPs, the memory estimate, and the check against the device's memory."""

import dataclasses
import os

import jax
import jax.numpy as jnp

from nerf_toy_jax import evaluate, parallel, signals, specs as specs_lib, train
from nerf_toy_jax.encodings import hashgrid
from nerf_toy_jax.model import MLP


def points_per_step(split, config):
    """Points through the network in one training step: the minibatch, times its rays' samples for views."""
    samples = 1 if split.render is None else split.render.samples
    return (config.batch_size or split.train_pixels[..., 0].size) * samples


@dataclasses.dataclass(frozen=True)
class Work:
    """The stacks of a run and what each costs, worked out once per run (``plan_work``)."""

    groups: list  # the indices into the specs of each stack (``specs.group_specs``)
    flops: list  # matmul FLOPs of one training step of each stack
    memory: list  # estimated peak bytes on one device of each stack (``memory_estimate``)


def plan_work(specs, split, config):
    """The ``Work`` of training ``specs`` on ``split`` (a ``data.Split``; of many signals of one shape, the
    first) with ``config`` (a ``state.TrainConfig``)."""
    groups = specs_lib.group_specs(specs, config.max_stack, split.dim)
    points = points_per_step(split, config)
    flops = [sum(specs[i].encoding.flops(specs[i].encoding.network(config, split.outputs), points, split.dim)
                 for i in group) for group in groups]
    mesh = parallel.model_mesh()
    memory = [memory_estimate([specs[i] for i in group], split, config, mesh) for group in groups]
    return Work(groups, flops, memory)


def check_memory(work, limit_bytes):
    """Raises ValueError, with what to change, if a stack of ``work`` would need more than ``limit_bytes``."""
    need = max(work.memory)
    if need > limit_bytes:
        raise ValueError(
            f"the largest stack would need about {need / 2**20:.0f} MB, more than the {limit_bytes / 2**20:.0f} MB "
            "available: train fewer models per stack (--max_stack), fewer pixels per step (--batch_size), or "
            "recompute activations (--remat, on GPU/TPU)")


def _tree_bytes(tree):
    """Bytes of the arrays (or shapes) of ``tree``."""
    return sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree_util.tree_leaves(tree))


def _values_per_point(model, remat, train):
    """Float32 values per point that a training step keeps for its backward pass (``train``), or that an
    evaluation-mode call holds, beyond the network's first-layer inputs."""
    if isinstance(model, hashgrid.HashGridMLP):  # the gathered corner entries and features, then a plain MLP
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
    for the models that run at once (``parallel.models_at_once``) the per-dispatch
    inputs of every training point (``model.inputs``: features, hash-grid
    corners) and what the backward pass keeps for the points of a step.
    Evaluation: the state, and per model at once one chunk of
    ``evaluate.EVAL_CHUNK`` points through the network, and the predictions. Both
    count the replicated data (coordinates and colours). Checked against
    XLA's buffer assignment in the tests.
    """
    channels = split.outputs
    model = train.make_network(specs, config, channels)
    matrix = specs_lib.stack_matrices(specs[:1], split.dim)
    matrix = None if matrix is None else jnp.asarray(matrix[0])
    per_device = -(-len(specs) // (1 if mesh is None else mesh.size))
    at_once = parallel.models_at_once(len(specs), config.stacking, mesh)
    train_points = split.train_pixels[..., 0].size
    eval_points = train_points + split.test_pixels[..., 0].size
    samples = 1 if split.render is None else split.render.samples  # a ray's points; views' inputs are per step
    point_inputs = _tree_bytes(jax.eval_shape(lambda: model.inputs(jnp.zeros((train_points, split.dim)),
                                                                   matrix))) / train_points
    inputs = int(point_inputs * train_points) if split.render is None else 0
    shapes = jax.eval_shape(lambda: train.init_state(model, specs[0].encoding.optimizer, jax.random.PRNGKey(0),
                                                     jax.random.PRNGKey(0), 0.0, matrix, split.dim))
    state = _tree_bytes(shapes)
    variables = _tree_bytes((shapes.params, shapes.batch_stats))  # as many bytes again for the gradients
    data_bytes = 4 * (train_points + eval_points) * (split.train_coords.shape[-1] + channels)
    batch = (config.batch_size or train_points) * samples
    kept = _values_per_point(model, config.remat, True) + 2 * channels
    # the minibatch's features (gathered, or computed in the step)
    gathered = specs[0].encoding.feature_dim(split.dim) if config.batch_size or split.render else 0
    step = 4 * batch * (kept + gathered)
    # computing the inputs holds intermediates about as large as them, before the steps run
    training = per_device * (state + variables) + at_once * (inputs + max(inputs, step)) + data_bytes
    chunk = min(evaluate.EVAL_CHUNK, train_points * samples)
    forward = int(point_inputs) + 4 * (_values_per_point(model, False, False) + channels)
    evaluation = per_device * state + at_once * (chunk * forward + 4 * eval_points * channels) + data_bytes
    return max(training, evaluation)


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


def compile_evaluate(specs, split, config, mesh=None):
    """Ahead-of-time compiled ``evaluate`` of a fresh stack of ``specs`` (for its ``memory_analysis()``)."""
    states, matrices, *_ = train.chunk_inputs(specs, split, config, mesh)
    model = train.make_network(specs, config, split.outputs)
    return evaluate.evaluate.lower(states, matrices, *evaluate.evaluation_inputs(split, config, mesh), model=model,
                                   metric_names=signals.get(split.kind).metrics, stacking=config.stacking,
                                   mesh=mesh, render=split.render).compile()
