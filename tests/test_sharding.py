"""The model axis split over 4 fake CPU devices, in one process or in two
(``jax.distributed``), gives the single-device results, bit for bit."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # end-to-end: programs in subprocesses
# K = 6 models on 4 devices: padded to 8, one of them diverges
SCRIPT = """
import sys
import jax, numpy as np
from nerf_toy_jax import data, parallel, specs as specs_lib, state, train
devices, out, processes, process_id, address, stacking = sys.argv[1:]
if int(processes) > 1:
    parallel.initialize(address, int(processes), int(process_id))
assert jax.device_count() == int(devices) * int(processes), jax.devices()
split = data.make_split(data.load_image(size=16), "memorize")
config = state.TrainConfig(steps=6, eval_every=3, depth=2, width=16, batch_size=64, stacking=stacking)
specs = [specs_lib.make_spec("gaussian", sigma=s, mapping_size=8, seed=i) for i, s in enumerate((3., 6., 9., 12., 15.))]
specs.append(specs_lib.make_spec("gaussian", mapping_size=8, lr=1e30))
result = train.train_stack(specs, split, config)
leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves((result.variables, result.state))]
np.savez(out, loss=result.loss, frames=result.frames, diverged=result.diverged, *leaves, **result.scores)
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def run_on(devices, out, processes=1, stacking="auto"):
    """Runs SCRIPT in ``processes`` processes of ``devices`` fake CPU devices
    each, stacks run by ``stacking``; every process saves its results to ``out`` with its index appended."""
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
    address = f"localhost:{free_port()}"
    running = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(devices), f"{out}{i}.npz", str(processes), str(i),
                                 address, stacking], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(processes)]
    for process in running:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    return [np.load(f"{out}{i}.npz") for i in range(processes)]


def assert_same(a, b, rtol=0.0):
    """Equal arrays (to ``rtol`` where float), bit for bit at ``rtol`` 0."""
    assert a.files == b.files
    for name in a.files:
        if rtol and a[name].dtype.kind == "f":
            np.testing.assert_allclose(a[name], b[name], rtol=rtol, atol=1e-6, err_msg=name)
        elif rtol and name == "frames":  # colours rounded to 8 bits may tip over by one level
            assert np.abs(a[name].astype(int) - b[name].astype(int)).max() <= 1
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    """``one_device(stacking)``: the results of one device, each stacking run once."""
    runs = {}

    def results(stacking):
        if stacking not in runs:
            runs[stacking] = run_on(1, tmp_path_factory.mktemp("one") / "one", stacking=stacking)[0]
        return runs[stacking]

    return results


@pytest.mark.parametrize("stacking,rtol", [("map", 0.0), ("vmap", 1e-5)])
def test_four_devices_match_one(stacking, rtol, one_device, tmp_path):
    """4 devices of 2 models each (one a padding copy) equal 1 device of 6 models: bit for bit when the
    models run one after another; side by side, XLA's batched products of 2 and of 6 models round
    differently, so to float32 rounding."""
    (four,) = run_on(4, tmp_path / "four", stacking=stacking)
    assert_same(four, one_device(stacking), rtol)
    assert four["diverged"].tolist() == [False] * 5 + [True]


def test_two_processes_of_two_devices_match_one_device(one_device, tmp_path):
    for result in run_on(2, tmp_path / "two", processes=2, stacking="map"):  # every process holds every result
        assert_same(result, one_device("map"))


SIGNALS_SCRIPT = """
import sys
import numpy as np
from nerf_toy_jax import data, specs as specs_lib, state, train
image = data.load_image(size=24)
tiles = [data.make_split(image[t:t + 12, l:l + 12], "holdout") for t, l in ((0, 0), (0, 12), (12, 12))]
specs = [specs_lib.make_spec("gaussian", seed=i, sigma=4.0, mapping_size=16) for i in range(3)]
config = state.TrainConfig(steps=6, eval_every=3, depth=2, width=16, batch_size=16, stacking="map")
result = train.train_stack(specs, tiles, config)
np.savez(sys.argv[1], loss=result.loss, frames=result.frames, **result.scores)
"""


def test_one_signal_per_model_split_over_four_devices_matches_one_device(tmp_path):
    """Many signals in one stack: 3 models on their own tiles, padded to 4 and split over 4 devices."""
    outputs = []
    for devices in (1, 4):
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
        out = tmp_path / f"{devices}.npz"
        completed = subprocess.run([sys.executable, "-c", SIGNALS_SCRIPT, str(out)], cwd=ROOT, env=env,
                                   capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr
        outputs.append(np.load(out))
    assert_same(*outputs)
