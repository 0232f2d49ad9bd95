"""Model specifications and their grouping into stacks of one shape.

A model is a ``ModelSpec``: an encoding with its parameters (an instance of a
class of ``encodings.REGISTRY``), a seed and a learning rate. Specs whose
encodings have equal ``stack_key`` have equal parameter shapes; they are
stacked on a leading model axis and trained by one compiled program. Each
encoding's scale (Gaussian sigma, hash-grid finest resolution, SIREN
omega_0) lives in its per-model ``matrix``, so a sweep over it stacks too.
"""

import dataclasses
import itertools

import jax
import numpy as np

from nerf_toy_jax import encodings
from nerf_toy_jax.encodings import base


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model of a sweep.

    Attributes:
      encoding: an ``encodings.base.Encoding`` with its parameters.
      seed: seeds the encoding matrix, the initial weights and the minibatches.
      lr: Adam learning rate.
    """

    encoding: base.Encoding
    seed: int = 0
    lr: float = 1e-3

    def __post_init__(self):
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")

    @property
    def name(self):
        """The encoding's registry name."""
        return self.encoding.name

    @property
    def label(self):
        return self.encoding.label

    def stack_key(self, dim):
        """The encoding's ``stack_key`` on coordinates of ``dim`` axes."""
        return self.encoding.stack_key(dim)

    def keys(self):
        """Independent PRNG keys (encoding, init, minibatch) derived from ``seed``."""
        return jax.random.split(jax.random.PRNGKey(self.seed), 3)

    def matrix(self, dim):
        """This model's fixed encoding array (``Encoding.matrix``) on coordinates of ``dim`` axes, or None."""
        return self.encoding.matrix(self.keys()[0], dim)


def make_spec(name, seed=0, lr=None, **params):
    """The spec of encoding ``name`` with ``params``; ``lr`` None takes the encoding's ``default_lr``."""
    encoding = encodings.get(name)
    return ModelSpec(encoding(**params), seed=int(seed), lr=float(encoding.default_lr if lr is None else lr))


def own_params(name, params):
    """The entries of ``params`` that are parameters of encoding ``name``."""
    fields = {field.name for field in dataclasses.fields(encodings.get(name))}
    return {key: value for key, value in params.items() if key in fields}


def make_grid(encoding_names, seeds=(0,), lr=None, lrs=None, scales=None, params=None):
    """The grid encodings x (their scales) x seeds, as a list of specs.

    Args:
      encoding_names: encodings to include, in order.
      seeds: seeds, each a separate model.
      lr: learning rate of every encoding not in ``lrs``; None: each encoding's ``default_lr``.
      lrs: optional {encoding: lr}.
      scales: optional {encoding: values of its ``scale_field``}, one model each.
      params: optional encoding parameters shared by the grid ({field: value});
        each encoding takes the ones that are its own.
    """
    lrs, scales, params = dict(lrs or {}), dict(scales or {}), dict(params or {})
    for name in [*lrs, *scales, *encoding_names]:
        encodings.get(name)
    fixed = [name for name in scales if encodings.get(name).scale_field is None]
    if fixed:
        raise ValueError(f"encoding {fixed[0]!r} has no scale to sweep")
    specs = []
    for name in encoding_names:
        encoding = encodings.get(name)
        values = scales.get(name, (None,))
        for value, seed in itertools.product(values, seeds):
            scale = {} if value is None else {encoding.scale_field: float(value)}
            specs.append(make_spec(name, seed, lrs.get(name, lr), **{**own_params(name, params), **scale}))
    return specs


def group_specs(specs, max_stack, dim):
    """Indices of ``specs`` grouped by ``stack_key``, groups in order of first appearance.

    Args:
      max_stack: split groups into stacks of at most this many models (None: no limit).
      dim: coordinate axes d of the signal.

    Returns:
      list of lists of int; every index appears exactly once.
    """
    groups = {}
    for index, spec in enumerate(specs):
        groups.setdefault(spec.stack_key(dim), []).append(index)
    size = max_stack or len(specs)
    return [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]


def stack_matrices(specs, dim):
    """The ``matrix`` of every spec of one stack on coordinates of ``dim`` axes, stacked: float32 [K, ...],
    or None for "none" stacks."""
    matrices = [spec.matrix(dim) for spec in specs]
    if matrices[0] is None:
        return None
    return np.stack([np.asarray(b) for b in matrices])


def spec_to_dict(spec):
    """A spec as a flat dict: encoding name, its parameters, seed and lr (JSON and msgpack friendly)."""
    return {"encoding": spec.name, **spec.encoding.params(), "seed": spec.seed, "lr": spec.lr}


def spec_from_dict(fields):
    """The inverse of ``spec_to_dict``; keys that are not parameters of the encoding are ignored (run
    folders of format 1 hold every encoding's parameters in every spec)."""
    name = fields["encoding"]
    return ModelSpec(encodings.get(name)(**own_params(name, fields)), seed=int(fields["seed"]),
                     lr=float(fields["lr"]))
