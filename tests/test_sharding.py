"""The model axis split over 4 fake CPU devices gives the single-device results, bit for bit."""

import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# K = 6 models on 4 devices: padded to 8, one of them diverges
SCRIPT = """
import sys
import jax, numpy as np
from nerf_toy_jax import data, sweep, train
assert jax.device_count() == int(sys.argv[1]), jax.devices()
split = data.make_split(data.load_image(size=16), "memorize")
config = train.TrainConfig(steps=6, eval_every=3, depth=2, width=16, batch_size=64)
specs = [sweep.ModelSpec("gaussian", sigma=s, mapping_size=8, seed=i) for i, s in enumerate((3., 6., 9., 12., 15.))]
specs.append(sweep.ModelSpec("gaussian", mapping_size=8, lr=1e30))
result = train.train_stack(specs, split, config)
leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves((result.variables, result.state))]
np.savez(sys.argv[2], loss=result.loss, test_psnr=result.test_psnr, test_ssim=result.test_ssim,
         frames=result.frames, diverged=result.diverged, *leaves)
"""


def run_on(devices, out):
    """Runs SCRIPT with ``devices`` fake CPU devices, saving its results to ``out``."""
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
    completed = subprocess.run([sys.executable, "-c", SCRIPT, str(devices), str(out)], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return np.load(out)


def test_four_devices_match_one(tmp_path):
    with run_on(4, tmp_path / "four.npz") as four, run_on(1, tmp_path / "one.npz") as one:
        assert four.files == one.files
        for name in four.files:
            np.testing.assert_array_equal(four[name], one[name], err_msg=name)
        assert four["diverged"].tolist() == [False] * 5 + [True]
