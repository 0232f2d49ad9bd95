"""absl command-line programs of nerf-toy-jax (run with ``python -m experiments.<name>``)."""

import os
import re
import sys
import warnings

from absl import flags, logging

from nerf_toy_jax import parallel

# The programs promise that --resume ends bit for bit where an uninterrupted run ends, on GPU too.
parallel.enable_determinism()


def _one_line(message, category, filename, lineno, line=None):
    return f"warning: {message}\n"


def quiet_logs():
    """Shows log records from WARNING up (JAX logs its backend search at INFO) unless --verbosity is given,
    and Python warnings as one line each."""
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    warnings.formatwarning = _one_line


def unknown_field(error, argv):
    """The one-line message for ``error``, the KeyError or AttributeError that ml_collections raises for an
    override ``--config.PATH=VALUE`` in ``argv`` of a field the config does not have: "no config field
    'train.stepz' (did you mean 'train.steps'?)"."""
    while error.args and isinstance(error.args[0], BaseException):  # AttributeError(KeyError(message))
        error = error.args[0]
    text = str(error.args[0]) if error.args else str(error)
    key = re.match(r"""^['"]*([^'"\n]+)""", text)
    key = key.group(1) if key else text
    suggestion = re.search(r'Did you mean "([^"]+)" instead of', text)
    overrides = [arg.split("=", 1)[0].split(".") for arg in argv if arg.startswith("--config.")]
    prefix = next((parts[1:parts.index(key)] for parts in overrides if key in parts[1:]), [])  # the fields above
    hint = f" (did you mean '{'.'.join(prefix + [suggestion.group(1)])}'?)" if suggestion else ""
    return f"no config field '{'.'.join(prefix + [key])}'{hint}"


def exit_with(argv, message):
    """Prints ``program: error: message`` on stderr and exits with status 2."""
    print(f"{os.path.basename(argv[0])}: error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_flags(argv):
    """``app.run``'s flags parser: a bad flag is one line on stderr and exit status 2, like every bad input."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        exit_with(argv, str(error))
    except (AttributeError, KeyError) as error:  # an override of a field the config does not have
        exit_with(argv, unknown_field(error, argv))
