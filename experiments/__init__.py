"""absl command-line programs of nerf-toy-jax (run with ``python -m experiments.<name>``)."""

from absl import flags, logging


def quiet_logs():
    """Shows log records from WARNING up (JAX logs its backend search at INFO) unless --verbosity is given."""
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
