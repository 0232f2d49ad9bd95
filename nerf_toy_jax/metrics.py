"""The metric table, and image quality metrics for images in [0, 1] (data range 1), from dm-pix.

``METRICS`` drives evaluation, the stack results, the run files, the curves
and the tables: a new metric is a function here and one line of the table.
The functions take one signal's ``[H, W, C]`` float arrays (MSE and PSNR:
any ``[*S, C]``, every sample counted; SSIM: a video's ``[T, H, W, C]``
too) and ``jit`` and ``vmap``; a kind of signal (``signals.KINDS``) names
the metrics evaluated on it.
"""

import dataclasses
from typing import Callable

import dm_pix
import jax
import jax.numpy as jnp
import numpy as np

SSIM_WINDOW = 11  # taps of the Gaussian window
SSIM_SIGMA = 1.5  # its standard deviation in pixels


def _as_image(a):
    """[*S, C] as dm-pix's [H, W, C]: an image unchanged, other signals as one column of samples."""
    return a if a.ndim == 3 else a.reshape(-1, 1, a.shape[-1])


def mse(a, b):
    """Mean squared error over [*S, C]."""
    return dm_pix.mse(_as_image(a), _as_image(b))


def psnr_from_mse(error):
    """PSNR in dB of a mean squared error for data range 1: ``-10 log10(mse)``."""
    return -10.0 * jnp.log10(error)


def psnr(a, b):
    """Peak signal-to-noise ratio in dB for data range 1, over [*S, C]."""
    return dm_pix.psnr(_as_image(a), _as_image(b))


def ssim(a, b):
    """Structural similarity of an image [H, W, C], mean over the valid region and channels; of a video
    [T, H, W, C], the mean over its frames.

    11-tap Gaussian window with sigma 1.5 pixels, k1 = 0.01, k2 = 0.03, data
    range 1 (Wang et al. 2004; scikit-image's ``gaussian_weights=True,
    use_sample_covariance=False``). NaN for frames smaller than the window.
    """
    if min(a.shape[-3], a.shape[-2]) < SSIM_WINDOW:
        return jnp.float32(jnp.nan)
    return jnp.mean(dm_pix.ssim(a, b, max_val=1.0, filter_size=SSIM_WINDOW, filter_sigma=SSIM_SIGMA))


def iou(a, b):
    """Intersection over union of the occupied samples (value >= 0.5) of a prediction ``a`` and a target ``b``
    [*S, 1]; 1 where both are empty."""
    inside, truth = a >= 0.5, b >= 0.5
    union = jnp.sum(inside | truth)
    return jnp.where(union > 0, jnp.sum(inside & truth) / jnp.maximum(union, 1), 1.0).astype(jnp.float32)


def near_surface(b):
    """bool [*S, 1]: the samples of a target grid ``b`` [*S, 1] with a neighbour along some axis (the next or
    the previous sample) on the other side of the surface (value >= 0.5 against < 0.5)."""
    truth = b >= 0.5
    near = jnp.zeros_like(truth)
    for axis in range(b.ndim - 1):
        padded = jnp.concatenate([jnp.take(truth, jnp.array([0]), axis), truth,
                                  jnp.take(truth, jnp.array([-1]), axis)], axis=axis)
        length = truth.shape[axis]
        for shift in (0, 2):
            near |= jax.lax.slice_in_dim(padded, shift, shift + length, axis=axis) != truth
    return near


def surface_iou(a, b):
    """``iou`` over the samples near the target's surface (``near_surface``), where encodings differ."""
    near = near_surface(b)
    return iou(jnp.where(near, a, 0.0), jnp.where(near, b, 0.0))


def psnr_of_mse(a, b):
    """PSNR in dB from the mean squared error (``psnr_from_mse(mse(a, b))``)."""
    return psnr_from_mse(mse(a, b))


@dataclasses.dataclass(frozen=True)
class Metric:
    """One evaluated quantity.

    Attributes:
      name: its key in results, e.g. "test_psnr": the split, then the quantity.
      split: "train" or "test": the pixels it is computed on.
      quantity: what it measures ("loss", "psnr", "ssim"); curves draw one panel per quantity.
      function: ``function(prediction, target) -> float32 []`` on one signal's values.
      higher_is_better: the direction of better.
      title: the quantity in words, with its unit.
      digits: decimals in tables.
      shown: whether tables and curves show it.
    """

    name: str
    split: str
    quantity: str
    function: Callable
    higher_is_better: bool
    title: str
    digits: int = 2
    shown: bool = True


METRICS = (
    Metric("train_loss", "train", "loss", mse, False, "MSE", 6, shown=False),
    Metric("train_psnr", "train", "psnr", psnr_of_mse, True, "PSNR (dB)"),
    Metric("test_psnr", "test", "psnr", psnr, True, "PSNR (dB)"),
    Metric("test_ssim", "test", "ssim", ssim, True, "SSIM", 4),
    Metric("test_iou", "test", "iou", iou, True, "IoU", 4),
    Metric("test_surface_iou", "test", "surface_iou", surface_iou, True, "surface IoU", 4),
)
NAMES = tuple(metric.name for metric in METRICS)


def first_reaching(eval_steps, curves, threshold):
    """The first evaluated step at which each curve reaches ``threshold``.

    Args:
      eval_steps: int [E] steps of the evaluations.
      curves: float [M, E] values (e.g. train PSNR), NaN where diverged.
      threshold: the value to reach (>=).

    Returns:
      float64 [M]: the step, or NaN where the curve never reaches it.
    """
    curves = np.nan_to_num(np.asarray(curves, np.float64), nan=-np.inf)
    reached = curves >= threshold
    first = np.argmax(reached, axis=1)
    return np.where(reached.any(axis=1), np.asarray(eval_steps, np.float64)[first], np.nan)
