"""Model specifications, sweep grids, and their grouping into stacks of one shape.

A model is a ``ModelSpec``: an encoding with its parameters, a seed and a
learning rate. Specs whose encodings give features of one shape (all Fourier
encodings with m rows, or all "none") share parameter shapes and are stacked
on a leading model axis and trained by one compiled program.
"""

import dataclasses
import itertools

import jax
import numpy as np

from nerf_toy_jax import encodings


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model of a sweep.

    Attributes:
      encoding: one of ``encodings.ENCODINGS``.
      sigma: gaussian only: standard deviation of B, cycles per unit.
      mapping_size: gaussian only: rows m of B (features 2m).
      positional_freqs: positional only: frequencies F per axis (rows 2F).
      positional_scale: positional only: frequencies ``2^linspace(0, scale,
        F) - 1`` (Tancik et al. 2020); None for the octaves ``2^(k - 1)``,
        k < F, of NeRF and the original nerf-toy (``sin(pi 2^k v)``).
      seed: seeds the encoding matrix, the initial weights and the minibatches.
      lr: Adam learning rate.
    """

    encoding: str = "gaussian"
    sigma: float = 10.0
    mapping_size: int = 256
    positional_freqs: int = 128
    positional_scale: float | None = 6.0
    seed: int = 0
    lr: float = 1e-3

    def __post_init__(self):
        if self.encoding not in encodings.ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}: choose from {', '.join(encodings.ENCODINGS)}")
        checks = {"sigma": self.sigma, "mapping_size": self.mapping_size,
                  "positional_freqs": self.positional_freqs, "lr": self.lr}
        for name, value in checks.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.positional_scale is not None and not self.positional_scale >= 0:
            raise ValueError(f"positional_scale must be >= 0, got {self.positional_scale}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    def encoding_params(self):
        """The parameters that matter for this spec's encoding, as a dict."""
        if self.encoding == "gaussian":
            return {"sigma": self.sigma, "mapping_size": self.mapping_size}
        if self.encoding == "positional":
            return {"positional_freqs": self.positional_freqs, "positional_scale": self.positional_scale}
        return {}

    @property
    def label(self):
        """Short name for plots and logs, e.g. ``gaussian s=10``."""
        if self.encoding == "gaussian":
            return f"gaussian s={self.sigma:g}"
        return self.encoding

    @property
    def stack_key(self):
        """Specs with equal keys have equal parameter shapes and can be stacked."""
        return ("none",) if self.encoding == "none" else ("fourier", self.matrix_rows)

    @property
    def matrix_rows(self):
        """Rows m of this spec's B (0 for "none")."""
        return {"none": 0, "basic": 2, "positional": 2 * self.positional_freqs,
                "gaussian": self.mapping_size}[self.encoding]

    @property
    def feature_dim(self):
        """Width of this spec's encoded input: 2 coordinates for "none", else 2m."""
        return 2 if self.encoding == "none" else 2 * self.matrix_rows

    def keys(self):
        """Independent PRNG keys (encoding, init, minibatch) derived from ``seed``."""
        return jax.random.split(jax.random.PRNGKey(self.seed), 3)

    def matrix(self):
        """This spec's B: float32 [m, 2] in cycles per unit, or None for "none"."""
        if self.encoding == "none":
            return None
        if self.encoding == "basic":
            return encodings.basic_matrix()
        if self.encoding == "positional":
            if self.positional_scale is None:
                freqs = encodings.nerf_frequencies(self.positional_freqs)
            else:
                freqs = encodings.log_linear_frequencies(self.positional_scale, self.positional_freqs)
            return encodings.positional_matrix(freqs)
        return encodings.gaussian_matrix(self.keys()[0], self.sigma, self.mapping_size)


def make_grid(encoding_names, sigmas=(10.0,), seeds=(0,), lr=1e-3, lr_overrides=None, **encoding_params):
    """The grid encodings x (sigmas, for gaussian) x seeds, as a list of specs.

    Args:
      encoding_names: encodings to include, in order.
      sigmas: gaussian scales; other encodings ignore them.
      seeds: seeds, each a separate model.
      lr: learning rate of every model, unless overridden.
      lr_overrides: optional {encoding: lr}.
      **encoding_params: mapping_size, positional_freqs, positional_scale.
    """
    lr_overrides = dict(lr_overrides or {})
    unknown = set(lr_overrides) - set(encodings.ENCODINGS)
    if unknown:
        raise ValueError(f"learning-rate override for unknown encoding(s): {', '.join(sorted(unknown))}")
    specs = []
    for name in encoding_names:
        name_sigmas = sigmas if name == "gaussian" else (ModelSpec.sigma,)
        for sigma, seed in itertools.product(name_sigmas, seeds):
            specs.append(ModelSpec(name, sigma=float(sigma), seed=int(seed),
                                   lr=float(lr_overrides.get(name, lr)), **encoding_params))
    return specs


def group_specs(specs, max_stack=None):
    """Indices of ``specs`` grouped by ``stack_key``, groups in order of first appearance.

    Args:
      max_stack: split groups into stacks of at most this many models (None: no limit).

    Returns:
      list of lists of int; every index appears exactly once.
    """
    groups = {}
    for index, spec in enumerate(specs):
        groups.setdefault(spec.stack_key, []).append(index)
    size = max_stack or len(specs)
    return [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]


def stack_matrices(specs):
    """B of every spec in one stack: float32 [K, m, 2], or None for "none" stacks."""
    matrices = [spec.matrix() for spec in specs]
    if matrices[0] is None:
        return None
    return np.stack([np.asarray(b) for b in matrices])


def spec_to_dict(spec):
    """A spec as a plain dict of its fields (JSON and msgpack friendly)."""
    return dataclasses.asdict(spec)


def spec_from_dict(fields):
    """The inverse of ``spec_to_dict``."""
    return ModelSpec(**fields)
