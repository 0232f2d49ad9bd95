"""nerf-toy-jax: encoding ablations of coordinate networks in JAX."""

__version__ = "0.1.0"
