"""Datasets of views in the format of NeRF's Blender scenes: ``transforms_<split>.json`` and PNG images.

A folder holds, for each split (``train``, ``val``, ``test``, and here
``orbit``), ``transforms_<split>.json``: ``{"camera_angle_x": radians,
"frames": [{"file_path": "./<split>/r_<k>", "transform_matrix": [4 x 4]}]}``
(camera-to-world, ``rays``' convention), and the images ``<split>/r_<k>.png``.
Blender's PNGs are RGBA over a transparent background; they load composited
onto white, as NeRF trains on them.
"""

import io
import json
import pathlib

import numpy as np
from PIL import Image

from nerf_toy_jax import data, rundir


def write(folder, split, images, cameras, camera_angle_x):
    """Writes one split: ``images`` float32 [N, H, W, 3] in [0, 1] as 8-bit PNGs and ``cameras`` [N, 4, 4]."""
    folder = pathlib.Path(folder)
    frames = []
    for index, (image, camera) in enumerate(zip(images, cameras)):
        buffer = io.BytesIO()
        Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
        rundir.write_bytes(folder / split / f"r_{index}.png", buffer.getvalue())
        frames.append({"file_path": f"./{split}/r_{index}", "transform_matrix": np.asarray(camera).tolist()})
    rundir.write_json(folder / f"transforms_{split}.json", {"camera_angle_x": float(camera_angle_x), "frames": frames})


def load(folder, split, size=None):
    """One split of a folder: (images float32 [N, H, W, 3] in [0, 1] over white, cameras float32 [N, 4, 4],
    camera_angle_x); ``size`` resizes the images to size x size (Lanczos)."""
    folder = pathlib.Path(folder)
    path = folder / f"transforms_{split}.json"
    if not path.is_file():
        raise ValueError(f"{folder} holds no {path.name}: not a Blender-style dataset, or no {split!r} split")
    record = json.loads(path.read_text())
    images, cameras = [], []
    for frame in record["frames"]:
        file = folder / frame["file_path"]
        file = file if file.suffix else file.with_suffix(".png")
        with Image.open(file) as image:
            rgba = np.asarray(image.convert("RGBA"), np.float32) / 255.0
        pixels = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])  # over white
        images.append(data.resize(pixels, size) if size else pixels)
        cameras.append(frame["transform_matrix"])
    return np.stack(images), np.asarray(cameras, np.float32), float(record["camera_angle_x"])
