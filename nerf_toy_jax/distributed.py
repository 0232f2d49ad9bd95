"""Several processes (hosts) training one stack: ``jax.distributed`` set-up.

Every process runs the same program with the same flags. After
``initialize``, ``jax.devices()`` lists the devices of all processes, the
trainer's model mesh spans them (each process trains the models on its own
devices) and results are gathered to every process (``train.to_host``);
only process 0 writes files.
"""

import jax
from jax.experimental import multihost_utils


def initialize(coordinator_address, num_processes, process_id):
    """Joins the ``num_processes`` processes; call before any JAX computation.

    Args:
      coordinator_address: "host:port" of process 0, reachable from all.
      num_processes: processes in all.
      process_id: this process's index in [0, num_processes).
    """
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU devices of several processes: over TCP
    jax.distributed.initialize(coordinator_address, num_processes, process_id)


def is_primary():
    """Whether this process writes the results (process 0)."""
    return jax.process_index() == 0


def barrier(name):
    """Waits until every process has reached ``barrier(name)``; nothing with one process."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
