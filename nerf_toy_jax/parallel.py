"""Placement of stacks of models on devices, of one host or several (``jax.distributed``).

A stack's leading model axis K is split over a one-axis mesh of all devices
(``model_mesh``, ``place``); each device runs its models one after another
or side by side (``map_models``). With several processes, every process
runs the same program with the same flags; after ``initialize``,
``jax.devices()`` lists the devices of all processes, each process trains
the models on its own devices, results are gathered to every process
(``to_host``) and only process 0 writes files (``is_primary``).
"""

import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

MODEL_AXIS = "models"


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


def models_at_once(count, stacking="auto", mesh=None):
    """How many models of a stack of ``count`` run at once on one device (see ``map_models``)."""
    per_device = -(-count // (1 if mesh is None else mesh.size))
    return 1 if per_device == 1 or resolved_stacking(stacking) == "map" else per_device


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


def place_stacked(array, mesh):
    """A per-model array [K, ...] as a device array, padded and split over ``mesh`` along K like ``place``."""
    if mesh is None:
        return jnp.asarray(array)
    count = (-len(array)) % mesh.size
    return jax.device_put(np.asarray(_pad(jnp.asarray(array), count)), NamedSharding(mesh, P(MODEL_AXIS)))


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


def initialize(coordinator_address, num_processes, process_id):
    """Joins the ``num_processes`` processes; call before any JAX computation.

    Args:
      coordinator_address: "host:port" of process 0, reachable from all.
      num_processes: processes in all.
      process_id: this process's index in [0, num_processes).
    """
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU devices of several processes: over TCP
    jax.distributed.initialize(coordinator_address, num_processes, process_id)


def is_primary():
    """Whether this process writes the results (process 0)."""
    return jax.process_index() == 0


def barrier(name):
    """Waits until every process has reached ``barrier(name)``; nothing with one process."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


DETERMINISTIC_FLAG = "--xla_gpu_deterministic_ops=true"


def enable_determinism():
    """Makes XLA's scatter-adds on GPU (the hash grid's gradient) deterministic, as the programs do, so that two
    runs of one config, or a resumed run and an uninterrupted one, end bit for bit alike: adds the flag
    ``DETERMINISTIC_FLAG`` to ``XLA_FLAGS``. XLA reads it when JAX starts its backend, so call it before the first
    computation (first in a notebook); called later, it warns that this process keeps XLA's defaults."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_deterministic_ops" in flags:
        return
    os.environ["XLA_FLAGS"] = f"{flags} {DETERMINISTIC_FLAG}".strip()
    from jax._src import xla_bridge  # no public way to ask whether the backend has started

    if getattr(xla_bridge, "backends_are_initialized", lambda: False)():
        warnings.warn("enable_determinism() was called after JAX started: it holds for new processes only; call it "
                      "before the first computation")
