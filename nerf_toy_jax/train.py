"""The trainer: many models of one shape in one jitted XLA program.

The training step is written for ONE model (``train_step``) and lifted over a
leading model axis K by ``parallel.map_models`` (``vmap``, or ``lax.map`` one
model after another); ``lax.scan`` runs ``eval_every`` steps per dispatch
(``train_chunk``). A single model is the same program with K = 1.
``train_stack`` is the loop: chunks, evaluations (``evaluate``), checkpoints.

A signal on a grid has fixed coordinates, so the network's inputs are
computed once per dispatch. Views of a scene (``data.Split.render``) are
rays: each step draws its samples along the minibatch's rays (stratified,
from the step's key), encodes them and renders the colours (a NeRF).
"""

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from nerf_toy_jax import data, evaluate, parallel, signals, specs as specs_lib, tables
from nerf_toy_jax.state import StackResult, TrainState


def make_network(specs, config, outputs):
    """The network of a stack of ``specs`` (one ``stack_key``) under ``config``, with ``outputs`` outputs
    (``data.Split.outputs``)."""
    return specs[0].encoding.network(config, outputs)


def _all_finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(tree)]))


def init_state(model, optimizer, init_key, batch_key, lr, matrix, dim):
    """The initial ``TrainState`` of one model on coordinates of ``dim`` axes."""
    variables = model.init(init_key, model.inputs(jnp.zeros((1, dim), jnp.float32), matrix), train=False)
    params = variables["params"]
    return TrainState(
        params=params,
        batch_stats=variables.get("batch_stats", {}),
        opt_state=optimizer(lr).init(params),
        lr=jnp.asarray(lr, jnp.float32),
        key=batch_key,
        diverged=jnp.asarray(False),
        diverged_step=jnp.asarray(-1, jnp.int32),
    )


def loss_function(model, batch_stats, features, targets, remat=False, render=None, matrix=None, key=None):
    """``loss_fn(params) -> (MSE, new batch_stats)`` of one training-mode call on a batch.

    With ``render`` (a ``volume.Renderer``), ``features`` are rays [B, 6]: the
    colours are rendered from the network's outputs at the rays' samples
    (stratified with ``key``), encoded with ``matrix`` inside the step.

    With ``remat``, the backward pass keeps only the matmul (Dense) outputs
    and recomputes the activations and BatchNorm from them
    (``jax.checkpoint`` with ``dots_saveable``): about a third of the
    activation memory, for some elementwise work.
    """
    def loss_fn(params):
        variables = {"params": params, "batch_stats": batch_stats}
        if render is None:
            prediction, updates = model.apply(variables, features, train=True, mutable=["batch_stats"])
        else:  # no BatchNorm (experiment.load_splits refuses it): the samples of a ray are not a batch
            prediction, updates = render(lambda points: model.apply(variables, model.inputs(points, matrix),
                                                                    train=True), features, key)[0], {}
        return jnp.mean(jnp.square(prediction - targets)), updates.get("batch_stats", {})

    return jax.checkpoint(loss_fn, policy=jax.checkpoint_policies.dots_saveable) if remat else loss_fn


def batch_indices(key, step, batch_size, count):
    """int32 [batch_size]: the training points of ``step``'s minibatch, drawn with replacement from ``count``."""
    return jax.random.randint(jax.random.fold_in(key, step), (batch_size,), 0, count)


def train_step(model, optimizer, batch_size, remat, state, step, features, targets, render=None, matrix=None):
    """One optimiser step of one model.

    Args:
      state: the model's ``TrainState``.
      step: int32 [] global step index.
      features: the network's inputs at the N training points (``model.inputs``), or with ``render`` the
        training rays [N, 6].
      targets: [N, C] training colours.
      render, matrix: a ``volume.Renderer`` and the model's encoding array, for rays (``loss_function``).

    Returns:
      (new state, float32 [] loss before the step, NaN if already diverged).
    """
    if batch_size is not None:
        index = batch_indices(state.key, step, batch_size, targets.shape[0])
        features, targets = jax.tree_util.tree_map(lambda x: x[index], (features, targets))

    samples_key = None if render is None else jax.random.fold_in(jax.random.fold_in(state.key, step), 1)
    loss_fn = loss_function(model, state.batch_stats, features, targets, remat, render, matrix, samples_key)
    (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer(state.lr).update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    finite = jnp.isfinite(loss) & _all_finite(params)
    diverged = state.diverged | ~finite
    stepped = state._replace(params=params, batch_stats=batch_stats, opt_state=opt_state)
    kept = jax.tree_util.tree_map(lambda old, new: jnp.where(diverged, old, new), state, stepped)
    new_state = kept._replace(
        diverged=diverged,
        diverged_step=jnp.where(diverged & ~state.diverged, step, state.diverged_step))
    return new_state, jnp.where(state.diverged, jnp.nan, loss)


@functools.partial(jax.jit, donate_argnums=(0,), static_argnames=(
    "model", "optimizer", "batch_size", "num_steps", "remat", "stacking", "mesh", "render"))
def train_chunk(states, matrices, coords, targets, start, *, model, optimizer, batch_size, num_steps, remat=False,
                stacking="auto", mesh=None, render=None):
    """``num_steps`` steps of every model: the one-model scan over steps, mapped over K.

    Args:
      states: ``TrainState`` stacked on K (donated), split over ``mesh`` if given.
      matrices: the models' encoding arrays [K, ...] (``specs.ModelSpec.matrix``) or None.
      coords: [N, d] training coordinates, shared by every model (rays [N, 6] with ``render``).
      targets: [N, C] training colours of one signal for every model, or [K, N, C]: one signal per model
        (split over ``mesh`` like the states).
      start: int32 [] index of the first step.
      model, optimizer: the network and its optimiser (``Encoding.optimizer``).
      batch_size, num_steps, remat, stacking: ``TrainConfig.batch_size``, steps to run, ``TrainConfig.remat``
        and ``.stacking``.
      render: the split's ``volume.Renderer`` for rays, or None (``data.Split.render``).

    Returns:
      (states, float32 [K, num_steps] losses).
    """
    steps = start + jnp.arange(num_steps, dtype=jnp.int32)
    per_model = targets.ndim == 3

    def per_device(states, matrices, *arrays):
        targets, coords, steps = arrays if per_model else (arrays[1], arrays[0], arrays[2])

        def one_model(state, matrix, target):
            features = model.inputs(coords, matrix) if render is None else coords

            def body(carry, step):
                return train_step(model, optimizer, batch_size, remat, carry, step, features, target, render,
                                  matrix)

            return jax.lax.scan(body, state, steps)

        if per_model:
            return parallel.map_models(one_model, states, matrices, targets, stacking=stacking)
        return parallel.map_models(lambda state, matrix: one_model(state, matrix, targets), states, matrices,
                                   stacking=stacking)

    if per_model:
        return parallel.on_devices(per_device, mesh, (states, matrices, targets), (coords, steps))
    return parallel.on_devices(per_device, mesh, (states, matrices), (coords, targets, steps))


def init_stack(specs, split, config):
    """Initial ``TrainState`` of ``specs`` (one ``stack_key``), stacked on K: one model's init mapped over K."""
    if len({spec.stack_key(split.dim) for spec in specs}) != 1:
        raise ValueError("a stack needs specs whose encodings have one shape")
    model = make_network(specs, config, split.outputs)
    keys = jnp.stack([spec.keys() for spec in specs])
    lrs = jnp.asarray([spec.lr for spec in specs], jnp.float32)
    matrices = specs_lib.stack_matrices(specs, split.dim)
    return _init_states(keys, lrs, None if matrices is None else jnp.asarray(matrices), model=model,
                        optimizer=specs[0].encoding.optimizer, dim=split.dim, stacking=config.stacking)


@functools.partial(jax.jit, static_argnames=("model", "optimizer", "dim", "stacking"))
def _init_states(keys, lrs, matrices, *, model, optimizer, dim, stacking):
    return parallel.map_models(lambda *args: init_state(model, optimizer, *args, dim), keys[:, 1], keys[:, 2], lrs,
                               matrices, stacking=stacking)


def chunk_inputs(specs, split, config, mesh=None):
    """(states, matrices, coords, targets) of a fresh stack, placed on ``mesh``: the arguments of ``train_chunk``.

    ``split`` is a ``data.Split`` shared by every model, or a list of one per model (``data.signals``)."""
    first, per_model = data.signals(split)
    if per_model and len(split) != len(specs):
        raise ValueError(f"{len(split)} signals for a stack of {len(specs)} models")
    channels = first.image.shape[-1]
    states, matrices = parallel.place(init_stack(specs, first, config), specs_lib.stack_matrices(specs, first.dim),
                                      mesh)
    (coords,) = parallel.replicate((first.train_coords.reshape(-1, first.train_coords.shape[-1]),), mesh)
    if per_model:
        targets = parallel.place_stacked(np.stack([one.train_pixels.reshape(-1, channels) for one in split]), mesh)
    else:
        (targets,) = parallel.replicate((first.train_pixels.reshape(-1, channels),), mesh)
    return states, matrices, coords, targets


def compile_chunk(specs, split, config, num_steps, mesh=None):
    """Ahead-of-time compiled ``train_chunk`` of ``specs``, and its arguments.

    Returns:
      (compiled, args): ``compiled(*args, start)`` runs ``num_steps`` steps
      and returns (states, losses); ``compiled.memory_analysis()`` tells its
      memory.
    """
    args = chunk_inputs(specs, split, config, mesh)
    lowered = train_chunk.lower(*args, jnp.int32(0), **chunk_options(specs, split, config, num_steps, mesh))
    return lowered.compile(), args


def chunk_options(specs, split, config, num_steps, mesh):
    """The static arguments of ``train_chunk`` for a stack of ``specs``."""
    first = data.signals(split)[0]
    return dict(model=make_network(specs, config, first.outputs), optimizer=specs[0].encoding.optimizer,
                batch_size=config.batch_size, num_steps=num_steps, remat=config.remat, stacking=config.stacking,
                mesh=mesh, render=first.render)


def train_stack(specs, split, config, on_eval=None, resume_from=None, checkpoint_every=None, on_checkpoint=None,
                should_stop=None):
    """Trains specs of one ``stack_key`` together, from scratch or from a partial result.

    Args:
      specs: K ``specs.ModelSpec`` with equal ``stack_key``.
      split: a ``data.Split``, or a list of one per model (many signals in one stack, ``data.signals``).
      config: a ``state.TrainConfig``.
      on_eval: optional ``on_eval(step, scores)`` called after every
        evaluation with ``scores`` {metric name: float32 [K]} and "diverged" bool [K].
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
    started = time.perf_counter()
    first_signal = data.signals(split)[0]
    model = make_network(specs, config, first_signal.outputs)
    names = signals.get(first_signal.kind).metrics
    mesh = parallel.model_mesh()
    count = len(specs)
    states, matrices, coords, targets = chunk_inputs(specs, split, config, mesh)
    split_arrays, frame_coords = evaluate.evaluation_inputs(split, config, mesh)
    # per-evaluation arrays, concatenated along the step axis at the end
    history = {"eval_steps": [], "loss": [], "frames": [], **{name: [] for name in names}}
    previous_wall_s = 0.0

    def evaluated(step):
        batch_stats, scores, frame = evaluate.evaluate(states, matrices, split_arrays, frame_coords, model=model,
                                                       metric_names=names, stacking=config.stacking, mesh=mesh,
                                                       render=first_signal.render)
        scores, diverged, frame = jax.tree_util.tree_map(lambda x: x[:count],
                                                         parallel.to_host((scores, states.diverged, frame)))
        history["eval_steps"].append(np.asarray([step]))
        for name in names:
            history[name].append(scores[name][:, None])
        history["frames"].append(frame[:, None])
        if on_eval is not None:
            on_eval(step, {**scores, "diverged": diverged})
        return batch_stats

    def snapshot():
        joined = {name: np.concatenate(parts, axis=0 if name == "eval_steps" else 1) if parts
                  else np.zeros((count, 0), np.float32) for name, parts in history.items()}
        host, stats, host_matrices = jax.tree_util.tree_map(lambda x: x[:count],
                                                            parallel.to_host((states, batch_stats, matrices)))
        return StackResult(specs=list(specs), eval_steps=joined["eval_steps"], loss=joined["loss"],
                           scores={name: joined[name] for name in names}, frames=joined["frames"],
                           batch_stats=stats, matrices=host_matrices,
                           wall_s=previous_wall_s + time.perf_counter() - started, state=host)

    if resume_from is None:
        batch_stats = evaluated(0)
    else:
        states, _ = parallel.place(jax.tree_util.tree_map(jnp.asarray, resume_from.state), None, mesh)
        batch_stats = resume_from.batch_stats
        for name in ("eval_steps", "loss", "frames"):
            history[name].append(getattr(resume_from, name))
        for name in names:
            history[name].append(resume_from.scores[name])
        previous_wall_s = resume_from.wall_s
    first = 0 if resume_from is None else resume_from.steps_done
    for start in range(first, config.steps, config.eval_every):
        num_steps = min(config.eval_every, config.steps - start)
        states, chunk_losses = train_chunk(states, matrices, coords, targets, jnp.int32(start),
                                           **chunk_options(specs, split, config, num_steps, mesh))
        history["loss"].append(parallel.to_host(chunk_losses)[:count])
        batch_stats = evaluated(start + num_steps)
        done = start + num_steps
        if done < config.steps:
            if on_checkpoint is not None and checkpoint_every and done % checkpoint_every == 0:
                on_checkpoint(snapshot())
            if should_stop is not None and should_stop():
                break
    return snapshot()


@dataclasses.dataclass(frozen=True)
class Sweep:
    """The models that ``train_sweep`` trained, in the order of its input specs.

    Attributes:
      stacks: one ``StackResult`` per compiled stack (``specs.group_specs`` order).
      positions: (stack index, position in the stack) of each input spec.
    """

    stacks: list
    positions: list

    @property
    def specs(self):
        """The input specs, in their order."""
        return [self.stacks[s].specs[k] for s, k in self.positions]

    @property
    def eval_steps(self):
        """int [E]: the steps at which every model was evaluated (0 first)."""
        return self.stacks[0].eval_steps

    def scores(self, name):
        """float32 [M, E]: metric ``name`` (``metrics.METRICS``) of input spec m at evaluation e."""
        return np.stack([self.stacks[s].scores[name][k] for s, k in self.positions])

    def frames(self):
        """uint8 [M, E, h, w, C]: input spec m's predictions on the frame grid at evaluation e (``StackResult``)."""
        return np.stack([self.stacks[s].frames[k] for s, k in self.positions])

    def rows(self):
        """One row per input spec, in their order (``tables.model_rows``; "index" is the spec's position)."""
        by_stack = tables.model_rows(self.stacks)
        first = np.cumsum([0] + [len(stack.specs) for stack in self.stacks])
        return [{**by_stack[first[s] + k], "index": i} for i, (s, k) in enumerate(self.positions)]

    def model(self, index):
        """(spec, variables, matrix or None) of input spec ``index``: its final network, as evaluated."""
        stack_index, k = self.positions[index]
        stack = self.stacks[stack_index]
        return (stack.specs[k], *stack.model_variables(k))


def train_sweep(specs, split, config, on_eval=None):
    """Trains every spec, one compiled program per group of equal ``stack_key``.

    Args:
      specs: list of ``specs.ModelSpec``.
      split: a ``data.Split`` for every model, or a list of one per spec (``data.signals``).
      config: as for ``train_stack``.
      on_eval: optional ``on_eval(stack_specs, step, scores)``.

    Returns:
      a ``Sweep``: the stacks, and each spec's results in the order of ``specs``.
    """
    per_spec = isinstance(split, (list, tuple))
    if per_spec and len(split) != len(specs):
        raise ValueError(f"{len(split)} signals for {len(specs)} models")
    dim = (split[0] if per_spec else split).dim
    groups = specs_lib.group_specs(specs, config.max_stack, dim)
    stacks = []
    for indices in groups:
        stack_specs = [specs[i] for i in indices]
        stack_split = [split[i] for i in indices] if per_spec else split
        callback = None if on_eval is None else functools.partial(on_eval, stack_specs)
        stacks.append(train_stack(stack_specs, stack_split, config, callback))
    positions = dict((i, (s, k)) for s, indices in enumerate(groups) for k, i in enumerate(indices))
    return Sweep(stacks, [positions[i] for i in range(len(specs))])
