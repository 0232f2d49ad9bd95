"""absl command-line programs of nerf-toy-jax (run with ``python -m experiments.<name>``)."""

import os
import sys
import warnings

from absl import flags, logging

# Scatter-adds (the hash grid's gradient) are nondeterministic on GPU unless XLA is told otherwise; the
# programs promise that --resume ends bit for bit where an uninterrupted run ends. Set before JAX starts.
if "xla_gpu_deterministic_ops" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_gpu_deterministic_ops=true".strip()


def _one_line(message, category, filename, lineno, line=None):
    return f"warning: {message}\n"


def quiet_logs():
    """Shows log records from WARNING up (JAX logs its backend search at INFO) unless --verbosity is given,
    and Python warnings as one line each."""
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    warnings.formatwarning = _one_line


def parse_flags(argv):
    """``app.run``'s flags parser: a bad flag is one line on stderr and exit status 2, like every bad input."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        message = str(error)
    except (AttributeError, KeyError) as error:  # an override of a field the config does not have
        message = f"the config has no field {str(error).strip(chr(34))}"
    print(f"{os.path.basename(argv[0])}: error: {message}", file=sys.stderr)
    sys.exit(2)
