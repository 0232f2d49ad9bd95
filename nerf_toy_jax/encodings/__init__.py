"""The encoding registry: every input encoding of coordinates, by name.

Each encoding is one module holding its pure functions, its network (where it
has its own) and an ``Encoding`` subclass that says everything about it
(``base.Encoding``). Programs, configs, tables, plots and the benchmark read
this registry instead of naming encodings; a new encoding is a module, its
line below and its tests.
"""

from nerf_toy_jax.encodings import basic, finer, gaussian, hashgrid, none, positional, siren

REGISTRY = {encoding.name: encoding for encoding in (
    none.Identity,
    basic.Basic,
    positional.Positional,
    gaussian.Gaussian,
    hashgrid.HashGrid,
    siren.Siren,
    finer.Finer,
)}
NAMES = tuple(REGISTRY)
CLASSIC = ("none", "basic", "positional", "gaussian")  # the encodings of Tancik et al. (2020)


def get(name):
    """The ``Encoding`` class registered as ``name``; ValueError naming the choices otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown encoding {name!r}: choose from {', '.join(NAMES)}")
    return REGISTRY[name]


def columns():
    """The parameters that tables show, over all encodings, in registry order."""
    return tuple(dict.fromkeys(column for encoding in REGISTRY.values() for column in encoding.columns))
