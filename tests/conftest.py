"""Helpers shared by the tests: the programs run in a subprocess, a local HTTP server of images, and one XLA
compilation cache for the session."""

import http.server
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CONFIG = os.path.join("tests", "tiny_config.py")
RGB8 = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)  # served as /rgb.png

# Many tests start programs that compile the same small programs (the tiny config's stacks); JAX's persistent
# cache hands each later process the executable XLA compiled the first time. Set before anything imports JAX
# and inherited by the programs' processes; a cache the user set is used and kept.
CACHE = None if "JAX_COMPILATION_CACHE_DIR" in os.environ else tempfile.mkdtemp(prefix="nerf-toy-jax-xla-")
if CACHE:
    os.environ.update(JAX_COMPILATION_CACHE_DIR=CACHE, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                      JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")


def pytest_unconfigure(config):
    if CACHE:
        shutil.rmtree(CACHE, ignore_errors=True)


def run(program, *args, timeout=300, **kwargs):
    """``python -m experiments.<program> *args`` from the repository root; the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", f"experiments.{program}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def png_bytes(size=16, mode="RGB"):
    """A random ``size`` x ``size`` PNG image in ``mode``, as bytes."""
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def encode(array, fmt="PNG", mode=None):
    """``array`` (uint8 [H, W(, C)]) as an image file's bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).convert(mode or Image.fromarray(array).mode).save(buffer, format=fmt)
    return buffer.getvalue()


class Handler(http.server.BaseHTTPRequestHandler):
    """/rgb.png (``RGB8``), /good.png, /truncated.png, /text, /missing (404) and /slow (answers after 3 s)."""

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(3)
        bodies = {"/rgb.png": encode(RGB8), "/good.png": png_bytes(), "/truncated.png": png_bytes()[:200], "/text": b"hello, not an image",
                  "/slow": png_bytes()}
        if self.path not in bodies:
            self.send_error(404)
            return
        self.send_response(200)
        self.end_headers()
        try:
            self.wfile.write(bodies[self.path])
        except OSError:  # the client gave up (timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server():
    """The base URL of a local HTTP server (``Handler``)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
