"""Writes the procedural 3D scene drawn from a seed as a Blender-style dataset of views.

    python -m experiments.scene --seed=0 --size=32 --out=results/scene_primitives_0
    python -m experiments.run --config=experiments/configs/nerf.py --image=blender:results/scene_primitives_0

The folder gets transforms_{train,test,orbit}.json with each view's
camera-to-world matrix, the views as PNGs (train/, test/, orbit/: 24, 8
and 24 views; nerf_toy_jax/scenes.py), and scene.json with the scene's
parameters and the constants that made it. The same seed and size always
give the same bytes; ``--image=scene:primitives:SEED`` renders the same
views in memory.
"""

import pathlib
import sys

from absl import app, flags

import experiments
from experiments.parsing import RUNS
from nerf_toy_jax import scenes

flags.DEFINE_integer("seed", 0, "The scene's seed (scene:primitives:SEED).")
flags.DEFINE_integer("size", 32, "Pixels a side of every view.")
flags.DEFINE_string("out", None, "The dataset's folder; it must not hold a dataset already.")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    out = pathlib.Path(FLAGS.out or pathlib.Path(RUNS) / f"scene_primitives_{FLAGS.seed}")
    problem = (f"--seed must be >= 0, got {FLAGS.seed}" if FLAGS.seed < 0
               else f"--size must be at least 4, got {FLAGS.size}" if FLAGS.size < 4
               else f"{out} already holds a dataset (transforms_train.json): choose another --out"
               if (out / "transforms_train.json").exists() else None)
    if problem:
        print(f"scene.py: error: {problem}", file=sys.stderr)
        sys.exit(2)
    scenes.write_dataset(out, FLAGS.seed, FLAGS.size)
    print(f"wrote {out}: transforms_{{train,test,orbit}}.json, {sum(scenes.VIEWS)} views of {FLAGS.size} px, "
          "scene.json")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
