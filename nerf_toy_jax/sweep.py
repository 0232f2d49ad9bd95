"""Model specifications, sweep grids, and their grouping into stacks of one shape.

A model is a ``ModelSpec``: an encoding with its parameters, a seed and a
learning rate. Specs whose encodings give features of one shape (all Fourier
encodings with m rows, or all "none"; hash grids of one table shape; SIRENs)
share parameter shapes and are stacked on a leading model axis and trained
by one compiled program. Each encoding's scale (Gaussian sigma, hash-grid
finest resolution, SIREN omega_0) is a per-model array, so a sweep over it
stacks too.
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
      hashgrid_levels, hashgrid_features, hashgrid_log2_table: hashgrid only:
        levels L, features F per level, 2^T table entries per level.
      hashgrid_coarsest, hashgrid_finest: hashgrid only: resolutions (cells
        per unit) of the first and last level, geometric in between.
      siren_omega: siren only: omega_0 of the first sine layer.
      seed: seeds the encoding matrix, the initial weights and the minibatches.
      lr: Adam learning rate.
    """

    encoding: str = "gaussian"
    sigma: float = 10.0
    mapping_size: int = 256
    positional_freqs: int = 128
    positional_scale: float | None = 6.0
    hashgrid_levels: int = 8
    hashgrid_features: int = 2
    hashgrid_log2_table: int = 14
    hashgrid_coarsest: float = 4.0
    hashgrid_finest: float = 64.0
    siren_omega: float = 30.0
    seed: int = 0
    lr: float = 1e-3

    def __post_init__(self):
        if self.encoding not in encodings.ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}: choose from {', '.join(encodings.ENCODINGS)}")
        checks = {"sigma": self.sigma, "mapping_size": self.mapping_size,
                  "positional_freqs": self.positional_freqs, "lr": self.lr,
                  "hashgrid_levels": self.hashgrid_levels, "hashgrid_features": self.hashgrid_features,
                  "hashgrid_log2_table": self.hashgrid_log2_table, "hashgrid_coarsest": self.hashgrid_coarsest,
                  "siren_omega": self.siren_omega}
        for name, value in checks.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if self.positional_scale is not None and not self.positional_scale >= 0:
            raise ValueError(f"positional_scale must be >= 0, got {self.positional_scale}")
        if self.hashgrid_finest < self.hashgrid_coarsest:
            raise ValueError(f"hashgrid_finest ({self.hashgrid_finest}) must be at least hashgrid_coarsest "
                             f"({self.hashgrid_coarsest})")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    def encoding_params(self):
        """The parameters that matter for this spec's encoding, as a dict."""
        if self.encoding == "gaussian":
            return {"sigma": self.sigma, "mapping_size": self.mapping_size}
        if self.encoding == "positional":
            return {"positional_freqs": self.positional_freqs, "positional_scale": self.positional_scale}
        if self.encoding == "hashgrid":
            return {name: getattr(self, name) for name in HASHGRID_FIELDS}
        if self.encoding == "siren":
            return {"siren_omega": self.siren_omega}
        return {}

    @property
    def label(self):
        """Short name for plots and logs, e.g. ``gaussian s=10``."""
        if self.encoding == "gaussian":
            return f"gaussian s={self.sigma:g}"
        if self.encoding == "hashgrid":
            return f"hashgrid N={self.hashgrid_finest:g}"
        if self.encoding == "siren":
            return f"siren w0={self.siren_omega:g}"
        return self.encoding

    @property
    def scale(self):
        """The value of this spec's swept scale parameter (``SCALES``), or None."""
        return getattr(self, SCALES[self.encoding]) if self.encoding in SCALES else None

    @property
    def stack_key(self):
        """Specs with equal keys have equal parameter shapes and can be stacked."""
        if self.encoding == "hashgrid":
            return ("hashgrid", self.hashgrid_levels, self.hashgrid_features, self.hashgrid_log2_table)
        if self.encoding in ("none", "siren"):
            return (self.encoding,)
        return ("fourier", self.matrix_rows)

    @property
    def matrix_rows(self):
        """Rows m of this spec's B (0 for "none", "hashgrid" and "siren")."""
        return {"basic": 2, "positional": 2 * self.positional_freqs,
                "gaussian": self.mapping_size}.get(self.encoding, 0)

    @property
    def feature_dim(self):
        """Width of the input of this spec's first Dense layer: 2m Fourier
        features, L F hash-grid features, or the 2 coordinates."""
        if self.encoding == "hashgrid":
            return self.hashgrid_levels * self.hashgrid_features
        return 2 * self.matrix_rows or 2

    def keys(self):
        """Independent PRNG keys (encoding, init, minibatch) derived from ``seed``."""
        return jax.random.split(jax.random.PRNGKey(self.seed), 3)

    def matrix(self):
        """This spec's fixed encoding array: B float32 [m, 2] in cycles per unit
        (Fourier encodings), the level resolutions [L] (hashgrid), omega_0 [1]
        (siren), or None ("none")."""
        if self.encoding == "none":
            return None
        if self.encoding == "hashgrid":
            return encodings.hashgrid_resolutions(self.hashgrid_coarsest, self.hashgrid_finest, self.hashgrid_levels)
        if self.encoding == "siren":
            return np.asarray([self.siren_omega], np.float32)
        if self.encoding == "basic":
            return encodings.basic_matrix()
        if self.encoding == "positional":
            if self.positional_scale is None:
                freqs = encodings.nerf_frequencies(self.positional_freqs)
            else:
                freqs = encodings.log_linear_frequencies(self.positional_scale, self.positional_freqs)
            return encodings.positional_matrix(freqs)
        return encodings.gaussian_matrix(self.keys()[0], self.sigma, self.mapping_size)


HASHGRID_FIELDS = ("hashgrid_levels", "hashgrid_features", "hashgrid_log2_table", "hashgrid_coarsest",
                   "hashgrid_finest")
SCALES = {"gaussian": "sigma", "hashgrid": "hashgrid_finest", "siren": "siren_omega"}  # the swept parameter
SCALE_NAMES = {"gaussian": "sigma (cycles per image)", "hashgrid": "finest resolution (cells per image)",
               "siren": "omega_0"}
# The published learning rates of the later designs: Instant-NGP 1e-2, SIREN 1e-4.
DEFAULT_LRS = {"hashgrid": 1e-2, "siren": 1e-4}


def make_grid(encoding_names, sigmas=(10.0,), seeds=(0,), lr=1e-3, lr_overrides=None, scales=None,
              **encoding_params):
    """The grid encodings x (their scales) x seeds, as a list of specs.

    Args:
      encoding_names: encodings to include, in order.
      sigmas: gaussian scales; other encodings ignore them.
      seeds: seeds, each a separate model.
      lr: learning rate of every model but hashgrid and siren (``DEFAULT_LRS``), unless overridden.
      lr_overrides: optional {encoding: lr}.
      scales: optional {"hashgrid": finest resolutions, "siren": omega_0 values}.
      **encoding_params: other ``ModelSpec`` fields, e.g. mapping_size, positional_scale.
    """
    lr_overrides = dict(lr_overrides or {})
    unknown = set(lr_overrides) - set(encodings.ENCODINGS)
    if unknown:
        raise ValueError(f"learning-rate override for unknown encoding(s): {', '.join(sorted(unknown))}")
    specs = []
    values = {"gaussian": sigmas, **(scales or {})}
    for name in encoding_names:
        name_lr = float(lr_overrides.get(name, DEFAULT_LRS.get(name, lr)))
        for value, seed in itertools.product(values.get(name, (None,)), seeds):
            scale = {} if value is None else {SCALES[name]: float(value)}
            specs.append(ModelSpec(name, seed=int(seed), lr=name_lr, **{**encoding_params, **scale}))
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
    """The ``matrix`` of every spec of one stack, stacked: float32 [K, ...], or None for "none" stacks."""
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
