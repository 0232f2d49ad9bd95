"""No mapping: the raw coordinates into the MLP (Tancik et al. 2020's baseline)."""

import dataclasses

from nerf_toy_jax.encodings import base


@dataclasses.dataclass(frozen=True)
class Identity(base.Encoding):
    """The coordinates [N, d] unchanged, into ``model.MLP``."""

    name = "none"
