"""SIREN (Sitzmann et al. 2020): raw coordinates into sine layers, first-layer frequency omega_0 per model."""

import dataclasses
import math

import flax.linen as nn
import jax.numpy as jnp

from nerf_toy_jax import model
from nerf_toy_jax.encodings import base


def sine(z, omega):
    """SIREN's activation ``sin(omega z)``."""
    return jnp.sin(omega * z)


class SirenNetwork(nn.Module):
    """SIREN: ``depth`` Dense layers, sine activations, linear output mapped to colour.

    Layer 1 is ``sin(omega_0 (W x + b))`` with W ~ U(-1/n, 1/n) (n inputs);
    hidden layers are ``sin(30 (W x + b))`` with W ~ U(-sqrt(6/n)/30,
    sqrt(6/n)/30); the last layer is linear with that initialisation, and
    its output y in about [-1, 1] becomes the colour ``(y + 1) / 2`` (SIREN
    fits images scaled to [-1, 1]). Biases start U(-1/sqrt(n), 1/sqrt(n)).
    omega_0 is a per-model array, so models of several omega_0 stack.

    Attributes:
      depth: Dense layers in all, >= 2.
      width: hidden units.
      channels: output channels C.
      dtype, precision: compute dtype and matmul precision of the layers after the first (see ``MLP``);
        the output is float32.
    """

    depth: int = 4
    width: int = 256
    channels: int = 3
    hidden_omega: float = 30.0
    dtype: str = "float32"
    precision: str = "default"
    batchnorm = False

    def inputs(self, coords, omega):
        """(coords [N, d], omega_0 [N, 1]) from ``omega`` [1]."""
        return coords, jnp.broadcast_to(omega, coords.shape[:-1] + (1,))

    @nn.compact
    def __call__(self, inputs, train):
        """Maps ``inputs`` of N points to colours [N, channels] (about [0, 1], not clipped)."""
        coords, omega = inputs
        fan_in = coords.shape[-1]
        x = sine(nn.Dense(self.width, kernel_init=model.uniform(1.0 / fan_in),
                          bias_init=model.uniform(1.0 / math.sqrt(fan_in)), precision=model.FIRST_LAYER)(coords), omega)
        return model.sine_layers(x, sine, depth=self.depth, width=self.width, channels=self.channels,
                                 hidden_omega=self.hidden_omega, dtype=self.dtype, precision=self.precision)


@dataclasses.dataclass(frozen=True)
class Siren(base.Encoding):
    """Coordinates into ``SirenNetwork`` of the run's depth and width; omega_0 is the model's ``matrix``.

    Attributes:
      siren_omega: omega_0 of the first sine layer.
    """

    name = "siren"
    scale_field = "siren_omega"
    scale_label = "omega_0"
    scale_symbol = "w0"
    scale_range = (3.0, 10.0, 30.0, 100.0)
    default_lr = 1e-4  # SIREN's
    columns = ("siren_omega",)

    siren_omega: float = 30.0

    def matrix(self, key, dim):
        """omega_0, float32 [1]."""
        return jnp.asarray([self.siren_omega], jnp.float32)

    def network(self, config, channels):
        return SirenNetwork(depth=config.depth, width=config.width, channels=channels, dtype=config.compute_dtype,
                            precision=config.matmul_precision)
