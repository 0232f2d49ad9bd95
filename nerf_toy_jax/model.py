"""The coordinate network: a Flax MLP from encoded coordinates to colour."""

import flax.linen as nn


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
    """

    depth: int = 4
    width: int = 256
    channels: int = 3
    batchnorm: bool = True
    bn_momentum: float = 0.99

    @nn.compact
    def __call__(self, x, train):
        """Maps features [N, F] float32 to colours [N, channels] float32 in (0, 1).

        ``train=True`` normalises with the statistics of ``x`` and updates
        ``batch_stats`` (pass ``mutable=["batch_stats"]``); ``train=False``
        uses the stored ``batch_stats``.
        """
        for _ in range(self.depth - 1):
            x = nn.relu(nn.Dense(self.width)(x))
            if self.batchnorm:
                x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum)(x)
        return nn.sigmoid(nn.Dense(self.channels)(x))


def data_statistics_model(model):
    """The same network whose training-mode call stores the exact batch statistics.

    With momentum 0 a training-mode call on a batch sets ``batch_stats`` to that
    batch's mean and variance. Called on the full training set, it gives the
    statistics that make the evaluation-mode network equal the full-batch
    trained function.
    """
    return model.clone(bn_momentum=0.0)



def matmul_flops(model, input_dim, points):
    """Matmul FLOPs of one training step of ``model`` on ``points`` inputs of width ``input_dim``.

    Forward is 2 FLOPs per multiply-add of every Dense layer; the backward pass
    (gradients of weights and activations) costs twice the forward: 3x in all.
    """
    dims = [input_dim] + [model.width] * (model.depth - 1) + [model.channels]
    return 3 * 2 * points * sum(a * b for a, b in zip(dims[:-1], dims[1:]))
