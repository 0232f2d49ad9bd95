"""The model axis split over 4 fake CPU devices, in one process or in two
(``jax.distributed``), gives the single-device results, bit for bit."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# K = 6 models on 4 devices: padded to 8, one of them diverges
SCRIPT = """
import sys
import jax, numpy as np
from nerf_toy_jax import data, distributed, sweep, train
devices, out, processes, process_id, address = sys.argv[1:]
if int(processes) > 1:
    distributed.initialize(address, int(processes), int(process_id))
assert jax.device_count() == int(devices) * int(processes), jax.devices()
split = data.make_split(data.load_image(size=16), "memorize")
config = train.TrainConfig(steps=6, eval_every=3, depth=2, width=16, batch_size=64)
specs = [sweep.ModelSpec("gaussian", sigma=s, mapping_size=8, seed=i) for i, s in enumerate((3., 6., 9., 12., 15.))]
specs.append(sweep.ModelSpec("gaussian", mapping_size=8, lr=1e30))
result = train.train_stack(specs, split, config)
leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves((result.variables, result.state))]
np.savez(out, loss=result.loss, test_psnr=result.test_psnr, test_ssim=result.test_ssim,
         frames=result.frames, diverged=result.diverged, *leaves)
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def run_on(devices, out, processes=1):
    """Runs SCRIPT in ``processes`` processes of ``devices`` fake CPU devices
    each; every process saves its results to ``out`` with its index appended."""
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
    address = f"localhost:{free_port()}"
    running = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(devices), f"{out}{i}.npz", str(processes), str(i),
                                 address], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(processes)]
    for process in running:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    return [np.load(f"{out}{i}.npz") for i in range(processes)]


def assert_same(a, b):
    assert a.files == b.files
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    return run_on(1, tmp_path_factory.mktemp("one") / "one")[0]


def test_four_devices_match_one(one_device, tmp_path):
    (four,) = run_on(4, tmp_path / "four")
    assert_same(four, one_device)
    assert four["diverged"].tolist() == [False] * 5 + [True]


def test_two_processes_of_two_devices_match_one_device(one_device, tmp_path):
    for result in run_on(2, tmp_path / "two", processes=2):  # every process holds every model's results
        assert_same(result, one_device)
