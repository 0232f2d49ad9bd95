"""What every registered encoding says about itself: the ``Encoding`` base class.

An encoding is a frozen dataclass whose fields are its parameters (e.g.
``Gaussian(sigma=10.0, mapping_size=256)``); its class says the rest: name,
the swept scale parameter, the default learning rate, how two models stack,
the fixed per-model array, the network and the optimiser. Field names are
unique across the registry (``gaussian.sigma``, ``hashgrid_finest``), so a
model's parameters can be written as flat table columns and read back.
"""

import dataclasses
import math
from typing import ClassVar

import optax

from nerf_toy_jax import model


@dataclasses.dataclass(frozen=True)
class Encoding:
    """Base of every encoding; subclasses set the class attributes and override what differs.

    Class attributes:
      name: registry key, e.g. "gaussian".
      scale_field: the parameter a scale sweep varies (a per-model array, so
        models at several scales stack), or None.
      scale_label: axis label of that parameter, with its unit.
      scale_symbol: its short name in labels, e.g. "s" for ``gaussian s=10``.
      scale_reference: (fraction, what): a scale of ``fraction`` times the
        training grid's side that plots mark, or None.
      scale_range: the values a scale sweep tries by default (``experiments/configs/sweep_scale.py``).
      default_lr: Adam learning rate unless a run sets one for this encoding.
      columns: parameters written as table columns (``tables.model_rows``).
      trainable_features: whether the network's first Dense layer takes
        trainable inputs (then its input gradient is computed, and counted).
      non_negative: parameters that may be 0 (every other number must be positive).
    """

    name: ClassVar[str]
    scale_field: ClassVar[str | None] = None
    scale_label: ClassVar[str | None] = None
    scale_symbol: ClassVar[str | None] = None
    scale_reference: ClassVar[tuple | None] = None
    scale_range: ClassVar[tuple] = ()
    default_lr: ClassVar[float] = 1e-3
    columns: ClassVar[tuple] = ()
    trainable_features: ClassVar[bool] = False
    non_negative: ClassVar[tuple] = ()

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not (value >= 0 if field.name in self.non_negative else value > 0) or not math.isfinite(value):
                bound = ">= 0" if field.name in self.non_negative else "positive"
                raise ValueError(f"{self.name}: {field.name} must be {bound}, got {value}")

    def params(self):
        """This encoding's parameters, as a dict."""
        return dataclasses.asdict(self)

    @property
    def scale(self):
        """The value of ``scale_field``, or None."""
        return None if self.scale_field is None else getattr(self, self.scale_field)

    @property
    def label(self):
        """Short name for plots and logs, e.g. ``gaussian s=10``."""
        return self.name if self.scale_field is None else f"{self.name} {self.scale_symbol}={self.scale:g}"

    def stack_key(self, dim):
        """Encodings with equal keys have networks of equal parameter shapes on coordinates of ``dim`` axes,
        and stack."""
        return (self.name,)

    def feature_dim(self, dim):
        """Width of the input of the network's first Dense layer, for coordinates of ``dim`` axes."""
        return dim

    def matrix(self, key, dim):
        """The fixed per-model array the network's ``inputs`` take (float32 [...]), or None.

        Args:
          key: the model's encoding PRNG key (for random encodings).
          dim: number of coordinate axes d of the signal (1, 2 or 3).
        """
        return None

    def network(self, config, channels):
        """The Flax network of this encoding under ``config`` (a ``state.TrainConfig``), ``channels`` outputs."""
        return model.MLP(depth=config.depth, width=config.width, channels=channels, batchnorm=config.batchnorm,
                         dtype=config.compute_dtype, precision=config.matmul_precision)

    @staticmethod
    def optimizer(lr):
        """The optimiser at learning rate ``lr`` (a traced scalar inside the step)."""
        return optax.adam(lr)

    def flops(self, network, points, dim):
        """Matmul FLOPs of one training step of ``network`` on ``points`` points of ``dim`` coordinate axes
        (``model.dense_flops``)."""
        return model.dense_flops(network, self.feature_dim(dim), points, first_input_gradient=self.trainable_features)
