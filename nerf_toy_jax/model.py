"""Network pieces shared by the encodings: the MLP, initialisers, matmul precisions, FLOP counts.

Every network has ``inputs(coords, matrix)``, the pure map from coordinates
[N, d] and the model's fixed encoding array (``Encoding.matrix``) to what
``__call__`` takes. The trainer computes the inputs once per dispatch and the
network is trained on them, so one trainer serves the ``MLP`` on Fourier
features or raw coordinates (Tancik et al. 2020) and the networks that the
later encodings define in their own modules (``nerf_toy_jax.encodings``).

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

from nerf_toy_jax import fourier

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
        return fourier.encode(coords, matrix)

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


def uniform(bound):
    """Initialiser of U(-bound, bound)."""
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


def sine_layers(x, activation, *, depth, width, channels, hidden_omega, dtype, precision):
    """The layers of a sine network after its first (SIREN's initialisation; call inside a compact method).

    ``depth - 2`` hidden Dense layers of ``width`` units, W ~ U(-sqrt(6/n)/omega,
    sqrt(6/n)/omega) for n inputs and omega = ``hidden_omega``, biases
    U(-1/sqrt(n), 1/sqrt(n)), each followed by ``activation(z, hidden_omega)``;
    then a linear layer of ``channels`` units whose output y, about [-1, 1],
    becomes the colour ``(y + 1) / 2``.

    Args:
      x: [N, width] the first layer's activations.
      dtype, precision: compute dtype and matmul precision (a key of ``MATMUL_PRECISIONS``).

    Returns:
      float32 [N, channels].
    """
    hidden = uniform(math.sqrt(6.0 / width) / hidden_omega)
    bias = uniform(1.0 / math.sqrt(width))
    precision = MATMUL_PRECISIONS[precision]
    for _ in range(depth - 2):
        x = activation(nn.Dense(width, kernel_init=hidden, bias_init=bias, dtype=dtype, precision=precision)(x),
                       hidden_omega)
    output = nn.Dense(channels, kernel_init=hidden, bias_init=bias, dtype=dtype, precision=precision)(x)
    return 0.5 * output.astype(jnp.float32) + 0.5


def dense_flops(network, input_dim, points, first_input_gradient=False):
    """Matmul FLOPs of one training step of ``network`` (its ``depth``, ``width``, ``channels``) on
    ``points`` inputs of width ``input_dim``.

    2 FLOPs per multiply-add: every Dense layer's forward product and its
    weight gradient, and the input gradient of every layer but the first,
    whose inputs (encoded coordinates) are constants; ``first_input_gradient``
    counts the first layer's too (its inputs are trainable). Equals XLA's own
    count of the step's dot FLOPs.
    """
    dims = [input_dim] + [network.width] * (network.depth - 1) + [network.channels]
    products = [a * b for a, b in zip(dims[:-1], dims[1:])]
    input_gradients = sum(products) if first_input_gradient else sum(products[1:])
    return 2 * points * (2 * sum(products) + input_gradients)
