"""Evaluation of stacks of models: chunked prediction, BatchNorm statistics, metrics, frames and renders.

Every ``eval_every`` steps each model is evaluated with BatchNorm statistics
computed on the full training set, so that evaluation measures the function
that training optimises (the running averages, decay 0.99, lag far behind a
network that is still learning). Points go through the network
``EVAL_CHUNK`` at a time, which bounds evaluation memory; rays
(``data.Split.render``) are rendered with their samples at the bins' centres,
``EVAL_CHUNK`` samples at a time.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from nerf_toy_jax import data, metrics, parallel, signals, volume

EVAL_CHUNK = 2**14  # points per evaluation-mode call: bounds evaluation memory


def _chunks(flat, chunk=EVAL_CHUNK):
    """[n, d] points -> ([chunks, size, d] zero-padded, float32 [chunks, size, 1] weights: 1 real, 0 padding),
    ``size`` at most ``chunk``."""
    count = flat.shape[0]
    size = min(count, chunk)
    chunks = -(-count // size)
    padded = jnp.pad(flat, ((0, chunks * size - count), (0, 0))).reshape(chunks, size, flat.shape[-1])
    weights = (jnp.arange(chunks * size) < count).astype(jnp.float32).reshape(chunks, size, 1)
    return padded, weights


def predict(model, variables, matrix, coords, render=None, depth=False):
    """Evaluation-mode colours at ``coords`` [..., d] -> [..., C]; with ``render`` (a ``volume.Renderer``),
    of rays ``coords`` [..., 6], and with ``depth`` also their depths [...] (``volume.surface_depth``).

    The points go through the network ``EVAL_CHUNK`` at a time (``lax.map``),
    so that evaluating needs one chunk's features and activations, not the
    whole image's.
    """
    def field(points):
        return model.apply(variables, model.inputs(points, matrix), train=False)

    def unchunked(values):  # [chunks, size, ...] -> [..., ...] of ``coords``
        values = values.reshape((-1,) + values.shape[2:])[:flat.shape[0]]
        return values.reshape(coords.shape[:-1] + values.shape[1:])

    flat = coords.reshape(-1, coords.shape[-1])
    if render is None:
        return unchunked(jax.lax.map(field, _chunks(flat)[0]))
    colours, opacities, depths = jax.lax.map(lambda rays: render(field, rays),
                                             _chunks(flat, max(1, EVAL_CHUNK // render.samples))[0])
    return (unchunked(colours), unchunked(volume.surface_depth(depths, opacities))) if depth else unchunked(colours)


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


@functools.partial(jax.jit, static_argnames=("model", "metric_names", "stacking", "mesh", "render"))
def evaluate(states, matrices, split_arrays, frame_coords, *, model, metric_names, stacking="auto", mesh=None,
             render=None):
    """Evaluates every model with full-training-set BatchNorm statistics, on the metrics ``metric_names``.

    Args:
      states: ``TrainState`` stack [K, ...]; matrices: encoding arrays [K, ...] or None.
      split_arrays: (train coords [*s, d], train values [*s, C], test coords, test values)
        (``evaluation_inputs``); values [K, *s, C] give each model its own signal.
      frame_coords: [*f, d] coordinates of the GIF frame grid.
      metric_names: names of ``metrics.METRICS`` (the signal's kind's, ``signals.Kind.metrics``).
      render: the split's ``volume.Renderer`` when the coordinates are rays, or None.

    Returns:
      (batch_stats [K, ...], scores {metric name: float32 [K]}, frames uint8 [K, *f, C]).
    """
    per_model = split_arrays[1].ndim == split_arrays[0].ndim + 1  # one signal per model: values [K, *s, C]
    chosen = [metric for metric in metrics.METRICS if metric.name in metric_names]

    def per_device(states, matrices, *arrays):
        if per_model:
            train_pixels, test_pixels, train_coords, test_coords, frame_coords = arrays
        else:
            train_coords, train_pixels, test_coords, test_pixels, frame_coords = arrays

        def one_model(state, matrix, train_pixels, test_pixels):
            batch_stats = data_statistics(model, state.params, state.batch_stats, matrix, train_coords)
            variables = {"params": state.params, "batch_stats": batch_stats}
            pairs = {"train": (predict(model, variables, matrix, train_coords, render), train_pixels),
                     "test": (predict(model, variables, matrix, test_coords, render), test_pixels)}
            frame = predict(model, variables, matrix, frame_coords, render)
            scores = {metric.name: metric.function(*pairs[metric.split]) for metric in chosen}
            return batch_stats, scores, jnp.round(frame * 255.0).astype(jnp.uint8)

        if per_model:
            return parallel.map_models(one_model, states, matrices, train_pixels, test_pixels, stacking=stacking)
        return parallel.map_models(lambda state, matrix: one_model(state, matrix, train_pixels, test_pixels),
                                   states, matrices, stacking=stacking)

    train_coords, train_pixels, test_coords, test_pixels = split_arrays
    if per_model:
        return parallel.on_devices(per_device, mesh, (states, matrices, train_pixels, test_pixels),
                                   (train_coords, test_coords, frame_coords))
    return parallel.on_devices(per_device, mesh, (states, matrices), (*split_arrays, frame_coords))


def frame_shape(sides, frame_size):
    """The sides of prediction frames: the signal's ``sides`` (d of them) scaled so the longest is at most
    ``frame_size^(2 / d)`` (an image: ``frame_size``; any signal: about ``frame_size^2`` samples)."""
    scale = min(1.0, frame_size ** (2 / len(sides)) / max(sides))
    return tuple(max(1, round(side * scale)) for side in sides)


@functools.partial(jax.jit, static_argnames=("model", "render"))
def _predict_jit(variables, matrix, coords, *, model, render):
    return predict(model, variables, matrix, coords, render, depth=render is not None)


def render(config, channels, spec, variables, matrix, *sides, rows_per_call=64):
    """Evaluates one trained model on a grid of any resolution.

    Args:
      config: the run's ``TrainConfig`` (for the architecture).
      channels: output channels C.
      spec: the model's ``specs.ModelSpec``.
      variables: {"params", "batch_stats"} of one model.
      matrix: its encoding array (``spec.matrix(d)``), or None.
      sides: the grid's samples along each of its d axes (an image: height, width); the coordinates are
        ``data.coordinate_grid``.
      rows_per_call: entries of the first axis evaluated per call, bounding memory (a curve: all at once).

    Returns:
      float32 [*sides, C] in [0, 1].
    """
    model = spec.encoding.network(config, channels)
    grid = data.coordinate_grid(*sides)
    rows = rows_per_call if len(sides) > 1 else sides[0]
    parts = [_predict_jit(variables, matrix, jnp.asarray(grid[top:top + rows]), model=model, render=None)
             for top in range(0, sides[0], rows)]
    return np.concatenate([np.asarray(part) for part in parts])


def render_views(config, split, spec, variables, matrix):
    """Renders one trained model's views of the rays of a split of views (``split.image_coords`` [n, H, W, 6],
    ``split.render``), one view per call.

    Returns:
      (colours float32 [n, H, W, C], depths float32 [n, H, W]: the expected distance along each ray, NaN where
      it is less than half opaque).
    """
    model = spec.encoding.network(config, split.outputs)
    parts = [_predict_jit(variables, matrix, jnp.asarray(rays), model=model, render=split.render)
             for rays in split.image_coords]
    return tuple(np.stack([np.asarray(part[index]) for part in parts]) for index in (0, 1))


def evaluation_inputs(split, config, mesh=None):
    """(train coords, train colours, test coords, test colours) and the frame grid, on ``mesh``: the data
    arguments of ``evaluate``. ``split`` is a ``data.Split`` (everything replicated) or a list of one per
    model (``data.signals``: the colours stacked [K, ...] and split over ``mesh``)."""
    first, per_model = data.signals(split)
    if first.render is None:
        frame_grid = data.coordinate_grid(*frame_shape(first.image.shape[:-1], config.frame_size))
    else:  # the views of the signal's picture (``signals.video_picture``)
        frame_grid = first.image_coords[signals.picture_frames(len(first.image_coords))]
    if not per_model:
        *arrays, frame_coords = parallel.replicate(
            (first.train_coords, first.train_pixels, first.test_coords, first.test_pixels, frame_grid), mesh)
        return tuple(arrays), frame_coords
    train_coords, test_coords, frame_coords = parallel.replicate((first.train_coords, first.test_coords, frame_grid),
                                                                 mesh)
    train_pixels, test_pixels = (parallel.place_stacked(np.stack([getattr(one, name) for one in split]), mesh)
                                 for name in ("train_pixels", "test_pixels"))
    return (train_coords, train_pixels, test_coords, test_pixels), frame_coords
