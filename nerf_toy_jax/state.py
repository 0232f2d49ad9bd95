"""The trainer's records: its settings, one model's state, and a trained stack. A leaf module.

``TrainConfig`` is validated here, once; everything downstream trusts it.
"""

import dataclasses
from typing import Any, NamedTuple

import jax
import numpy as np

from nerf_toy_jax.model import MATMUL_PRECISIONS

COMPUTE_DTYPES = ("float32", "bfloat16")
STACKINGS = ("auto", "vmap", "map")  # how ``parallel.map_models`` runs the models of a stack


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
      remat: recompute activations in the backward pass (``train.loss_function``).
        It takes effect where models run side by side (``vmap`` on GPU/TPU);
        XLA:CPU compiles the recomputation away, and there ``map_models``
        already holds one model's activations at a time.
      matmul_precision: precision of the networks' matmuls after the first
        layer (``model.MATMUL_PRECISIONS``: default, high, highest); the
        encodings and every first layer are full float32 on every backend.
      stacking: how the models of a stack run (``parallel.map_models``):
        "vmap" side by side, "map" one after another in the same program,
        "auto" map on CPU and vmap elsewhere.
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
      opt_state: optimiser state.
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
      scores: {metric name (``metrics.METRICS``): float32 [K, E]} evaluations.
      frames: uint8 [K, E, h, w, C] predictions on a frame grid of the image.
      batch_stats: BatchNorm statistics [K, ...] of the full training set
        under the final parameters ({} without BatchNorm).
      matrices: the models' encoding arrays [K, ...], or None for "none".
      wall_s: seconds spent training and evaluating the stack, compile included.
      state: the ``TrainState`` stack after the last step (host arrays), to
        resume from; its ``params`` are the final parameters.
    """

    specs: list
    eval_steps: np.ndarray
    loss: np.ndarray
    scores: dict
    frames: np.ndarray
    batch_stats: Any
    matrices: np.ndarray | None
    wall_s: float
    state: TrainState

    @property
    def steps_done(self):
        return int(self.eval_steps[-1])

    @property
    def variables(self):
        """{"params", "batch_stats"} with leaves [K, ...]: the final networks, as evaluated."""
        return {"params": self.state.params, "batch_stats": self.batch_stats}

    @property
    def diverged(self):
        """bool [K]."""
        return np.asarray(self.state.diverged)

    @property
    def diverged_step(self):
        """int [K], -1 where not diverged."""
        return np.asarray(self.state.diverged_step)

    def model_variables(self, k):
        """(variables, matrix or None) of model ``k``, as host arrays."""
        variables = jax.tree_util.tree_map(lambda leaf: np.asarray(leaf[k]), self.variables)
        return variables, None if self.matrices is None else np.asarray(self.matrices[k])
