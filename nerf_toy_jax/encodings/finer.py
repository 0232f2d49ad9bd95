"""FINER (Liu et al. 2024, "FINER: Flexible spectral-bias tuning in Implicit NEural Representation by
Variable-periodic Activation Functions"): sine layers whose frequency grows with the pre-activation.

Each layer computes ``sin(omega (|z| + 1) z)`` of its pre-activation
``z = W x + b``, with ``|z| + 1`` held constant in the backward pass (the
published default); SIREN is the case ``|z| + 1 = 1``. A larger spread of
the first layer's biases, U(-k, k), puts more of the first layer on the
steep, high-frequency part of the activation: k tunes the spectral bias. Both
omega_0 and k are per-model arrays, so models at several k stack.
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from nerf_toy_jax import model
from nerf_toy_jax.encodings import base, siren


def finer_activation(z, omega):
    """``sin(omega (|z| + 1) z)``, the factor ``|z| + 1`` without gradient."""
    return jnp.sin(omega * (jax.lax.stop_gradient(jnp.abs(z)) + 1.0) * z)


class FinerNetwork(siren.SirenNetwork):
    """``depth`` Dense layers: FINER activations, then a linear output mapped to colour ``(y + 1) / 2``.

    SIREN's network and attributes (``siren.SirenNetwork``) with FINER's
    activation, and the first layer's biases U(-k, k) instead of SIREN's.
    """

    def inputs(self, coords, matrix):
        """(coords [N, d], (omega_0, k) [N, 2] from ``matrix`` [2]): per point, so that a minibatch is a
        gather of both."""
        return coords, jnp.broadcast_to(matrix, coords.shape[:-1] + (2,))

    @nn.compact
    def __call__(self, inputs, train):
        """Maps ``inputs`` of N points to colours [N, channels] (about [0, 1], not clipped)."""
        coords, (omega, k) = inputs[0], inputs[1][0]
        fan_in = coords.shape[-1]
        first = nn.Dense(self.width, kernel_init=model.uniform(1.0 / fan_in),
                         bias_init=lambda key, shape, dtype=jnp.float32: k * model.uniform(1.0)(key, shape, dtype),
                         precision=model.FIRST_LAYER)
        x = finer_activation(first(coords), omega)
        return model.sine_layers(x, finer_activation, depth=self.depth, width=self.width, channels=self.channels,
                                 hidden_omega=self.hidden_omega, dtype=self.dtype, precision=self.precision)


@dataclasses.dataclass(frozen=True)
class Finer(base.Encoding):
    """Coordinates into ``FinerNetwork`` of the run's depth and width.

    Attributes:
      finer_omega: omega_0 of the first layer.
      finer_bias_scale: k, the first layer's biases U(-k, k).
    """

    name = "finer"
    scale_field = "finer_bias_scale"
    scale_label = "first-layer bias scale k"
    scale_symbol = "k"
    scale_range = (0.1, 0.3, 1.0, 3.0, 10.0)
    default_lr = 1e-4  # SIREN's
    columns = ("finer_omega", "finer_bias_scale")

    finer_omega: float = 30.0
    finer_bias_scale: float = 1.0

    def matrix(self, key, dim):
        """(omega_0, k), float32 [2]."""
        return jnp.asarray([self.finer_omega, self.finer_bias_scale], jnp.float32)

    def network(self, config, channels):
        return FinerNetwork(depth=config.depth, width=config.width, channels=channels, dtype=config.compute_dtype,
                            precision=config.matmul_precision)
