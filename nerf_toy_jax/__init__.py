"""nerf-toy-jax: encoding ablations of coordinate networks in JAX.

The public API, importable from the package (each name loads its module on first use, so ``import
nerf_toy_jax.train`` pulls in no plotting):

    import nerf_toy_jax as ntj

    ntj.enable_determinism()                     # first: bit-for-bit results on GPU too
    split = ntj.load_signal(None, 64, "holdout")  # the default image; curve:..., video:..., shape:..., scene:...
    specs = ntj.make_grid(["positional", "gaussian"], seeds=[0, 1], scales={"gaussian": [3, 10, 30]})
    sweep = ntj.train_sweep(specs, split, ntj.TrainConfig(steps=500, batchnorm=False))
    sweep.rows()                                  # one row per spec, in the order of ``specs``
    run = ntj.run_experiment(config, "runs/mine")  # a config to a run folder, as python -m experiments.run
    ntj.load_run("results/grace_hopper").history()# a run folder back: rows, histories, frames, predictions
"""

import importlib

__version__ = "0.1.0"

_API = {  # name: its module
    "load_signal": "signals",
    "make_grid": "specs",
    "make_spec": "specs",
    "TrainConfig": "state",
    "train_sweep": "train",
    "Sweep": "train",
    "run_experiment": "experiment",
    "Run": "experiment",
    "load_run": "experiment",
    "BadInput": "experiment",
    "enable_determinism": "parallel",
}
__all__ = list(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'nerf_toy_jax' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nerf_toy_jax.{_API[name]}"), name)


def __dir__():
    return sorted(list(globals()) + __all__)
