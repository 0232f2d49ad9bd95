"""The coordinate networks: Flax modules from (encoded) coordinates to colour.

Every network has ``inputs(coords, matrix)``, the pure map from coordinates
[N, d] and the model's fixed encoding array (``sweep.ModelSpec.matrix``) to
what ``__call__`` takes. The trainer computes the inputs once per dispatch
and the network is trained on them, so the same trainer serves:
- ``MLP`` on Fourier features or raw coordinates (Tancik et al. 2020);
- ``HashGridMLP``: trainable multiresolution hash tables and a small MLP
  (Muller et al. 2022, Instant-NGP);
- ``Siren``: sine activations, first-layer frequency omega_0 (Sitzmann et al. 2020).

The first layer of every network multiplies at full float32 precision
(``FIRST_LAYER``) on every backend: its inputs are coordinates or features
whose small differences between neighbouring points are the signal, and the
default precision of GPUs (TF32) and TPUs (bfloat16 passes) would round them
away. The other layers use ``precision`` (``MATMUL_PRECISIONS``).
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from nerf_toy_jax import encodings

MATMUL_PRECISIONS = {"default": None, "high": jax.lax.Precision.HIGH, "highest": jax.lax.Precision.HIGHEST}
FIRST_LAYER = jax.lax.Precision.HIGHEST  # precision of every network's first layer


class MLP(nn.Module):
    """``depth`` Dense layers in all: ``depth - 1`` hidden ones of ``width``
    units, each followed by ReLU and (when ``batchnorm``) BatchNorm, the order
    of the original nerf-toy; then a Dense layer of ``channels`` units and a
    sigmoid.

    BatchNorm normalises over the points of one call. Under ``vmap`` over
    models its statistics stay per model: it has no ``axis_name``.

    Attributes:
      depth: number of Dense layers, >= 1.
      width: hidden units per layer.
      channels: output channels C (3 for RGB, 1 for grayscale).
      batchnorm: BatchNorm after each hidden activation (off: the paper's network).
      bn_momentum: decay of the running averages kept in ``batch_stats``.
      dtype: compute dtype of the layers after the first ("float32" or
        "bfloat16"). The first layer, parameters, BatchNorm statistics and
        the output stay float32: an 8-bit mantissa cannot tell neighbouring
        coordinates apart.
      precision: matmul precision of the layers after the first, a key of
        ``MATMUL_PRECISIONS`` (the first layer runs at ``FIRST_LAYER``).
    """

    depth: int = 4
    width: int = 256
    channels: int = 3
    batchnorm: bool = True
    bn_momentum: float = 0.99
    dtype: str = "float32"
    precision: str = "default"

    def inputs(self, coords, matrix):
        """Fourier features of ``coords`` with B = ``matrix`` [m, d], or the coordinates when None."""
        return encodings.encode(coords, matrix)

    @nn.compact
    def __call__(self, x, train):
        """Maps features [N, F] float32 to colours [N, channels] float32 in (0, 1).

        ``train=True`` normalises with the statistics of ``x`` and updates
        ``batch_stats`` (pass ``mutable=["batch_stats"]``); ``train=False``
        uses the stored ``batch_stats``.
        """
        precision = MATMUL_PRECISIONS[self.precision]
        for layer in range(self.depth - 1):
            dense = (nn.Dense(self.width, dtype="float32", precision=FIRST_LAYER) if layer == 0
                     else nn.Dense(self.width, dtype=self.dtype, precision=precision))
            x = nn.relu(dense(x))
            if self.batchnorm:
                self.sow("batchnorm_inputs", str(layer), x)
                x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, dtype=self.dtype)(x)
        last = (dict(dtype="float32", precision=FIRST_LAYER) if self.depth == 1
                else dict(dtype=self.dtype, precision=precision))
        return nn.sigmoid(nn.Dense(self.channels, **last)(x).astype(jnp.float32))


def _uniform(bound):
    """Initialiser of U(-bound, bound)."""
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


class HashGridMLP(nn.Module):
    """Multiresolution hash encoding with trainable tables, then a small ReLU MLP and a sigmoid.

    Each of ``levels`` levels holds a table of ``2^log2_table`` entries of
    ``features`` values, initialised U(-1e-4, 1e-4) as published; a point's
    feature at a level is the bilinear interpolation of its cell's four
    corner entries (``encodings.hashgrid_corners``). The concatenated
    features [N, levels * features] feed ``MLP(depth, width)`` without BatchNorm.

    Attributes:
      levels, features, log2_table: L, F and T of the encoding.
      depth, width, channels: the MLP (published: 2 hidden layers of 64).
      dtype, precision: compute dtype and matmul precision of the MLP after its first layer (see ``MLP``);
        tables and interpolation stay float32.
    """

    levels: int = 8
    features: int = 2
    log2_table: int = 14
    depth: int = 3
    width: int = 64
    channels: int = 3
    dtype: str = "float32"
    precision: str = "default"
    batchnorm = False  # for the trainer: no batch statistics

    def inputs(self, coords, resolutions):
        """(indices int32 [N, L, 4], weights float32 [N, L, 4]) at the level ``resolutions`` [L]."""
        return encodings.hashgrid_corners(coords, resolutions, 2 ** self.log2_table)

    @nn.compact
    def __call__(self, inputs, train):
        """Maps ``inputs`` of N points to colours [N, channels] in (0, 1)."""
        indices, weights = inputs
        tables = self.param("tables", _uniform(1e-4), (self.levels, 2 ** self.log2_table, self.features))
        features = encodings.hashgrid_features(tables, indices, weights)
        return MLP(depth=self.depth, width=self.width, channels=self.channels, batchnorm=False,
                   dtype=self.dtype, precision=self.precision)(features, train)


class Siren(nn.Module):
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
        x = jnp.sin(omega * nn.Dense(self.width, kernel_init=_uniform(1.0 / fan_in),
                                     bias_init=_uniform(1.0 / math.sqrt(fan_in)), precision=FIRST_LAYER)(coords))
        hidden = _uniform(math.sqrt(6.0 / self.width) / self.hidden_omega)
        bias = _uniform(1.0 / math.sqrt(self.width))
        precision = MATMUL_PRECISIONS[self.precision]
        for _ in range(self.depth - 2):
            dense = nn.Dense(self.width, kernel_init=hidden, bias_init=bias, dtype=self.dtype, precision=precision)
            x = jnp.sin(self.hidden_omega * dense(x))
        output = nn.Dense(self.channels, kernel_init=hidden, bias_init=bias, dtype=self.dtype,
                          precision=precision)(x)
        return 0.5 * output.astype(jnp.float32) + 0.5


def matmul_flops(model, input_dim, points):
    """Matmul FLOPs of one training step of ``model`` on ``points`` inputs of width ``input_dim``.

    2 FLOPs per multiply-add: every Dense layer's forward product and its
    weight gradient, and the input gradient of every layer but the first,
    whose inputs (encoded coordinates) are constants. The hash grid's first
    layer takes the interpolated trainable tables, so its input gradient
    counts too. Equals XLA's own count of the step's dot FLOPs.
    """
    dims = [input_dim] + [model.width] * (model.depth - 1) + [model.channels]
    products = [a * b for a, b in zip(dims[:-1], dims[1:])]
    input_gradients = sum(products) if isinstance(model, HashGridMLP) else sum(products[1:])
    return 2 * points * (2 * sum(products) + input_gradients)
