"""BatchNorm ablation: the original nerf-toy's MLP (BatchNorm after every hidden ReLU) against the paper's (none).

    python -m experiments.batchnorm            # writes results/batchnorm/ (about 20 min on a 2-core CPU)
    python -m experiments.batchnorm --redraw   # only redraws table.md and curves.png

Every encoding x seed is trained with and without BatchNorm on both splits
(memorize: train = test = every pixel; holdout: train [::2, ::2], test
[1::2, 1::2]), everything else equal (Adam at --lr, full batch). table.md
gives final train and test PSNR (mean ± std over seeds) and the convergence
speed: the first step at which train PSNR reaches each --thresholds value
(evaluated every --eval_every steps; "-" when never reached). curves.png
draws train and test PSNR against step. Evaluation uses BatchNorm
statistics of the full training set (see nerf_toy_jax/train.py).
"""

import dataclasses
import pathlib
import sys
import time

import numpy as np
from absl import app, flags

import experiments
from experiments.parsing import UsageError, parse_floats, parse_seeds
from nerf_toy_jax import data, datasets, encodings, results, sweep, train, viz

flags.DEFINE_string("image", None, "Image path or natural:NAME / text:INDEX. Default: grace_hopper.")
flags.DEFINE_integer("size", 64, "Image side in pixels.")
flags.DEFINE_integer("steps", 500, "Training steps of every model.")
flags.DEFINE_list("seeds", ["2"], "One number N for seeds 0..N-1, or several seeds.")
flags.DEFINE_list("encodings", list(encodings.CLASSIC), "Encodings (of the MLP: none, basic, positional, gaussian).")
flags.DEFINE_float("lr", 1e-3, "Adam learning rate of every model.")
flags.DEFINE_list("thresholds", ["25", "30"], "Train PSNRs (dB) whose first reaching step is reported.")
flags.DEFINE_integer("eval_every", 25, "Steps between evaluations.")
flags.DEFINE_string("out", "results/batchnorm", "Output folder.")
flags.DEFINE_bool("overwrite", False, "Replace an existing ablation in --out.")
flags.DEFINE_bool("redraw", False, "Only redraw table.md and curves.png from the saved files.")
FLAGS = flags.FLAGS

ARMS = [(split, batchnorm) for split in data.SPLITS for batchnorm in (True, False)]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    out = pathlib.Path(FLAGS.out)
    try:
        thresholds = parse_floats("thresholds", FLAGS.thresholds)
        if FLAGS.redraw:
            if not (out / "rows.json").is_file():
                raise UsageError(f"nothing to redraw: {out / 'rows.json'} does not exist")
        else:
            seeds = parse_seeds(FLAGS.seeds)
            others = [name for name in FLAGS.encodings if name not in encodings.CLASSIC]
            if others:
                raise UsageError(f"BatchNorm belongs to the MLP of {', '.join(encodings.CLASSIC)}; "
                                 f"{others[0]!r} has no BatchNorm to ablate")
            specs = sweep.make_grid(FLAGS.encodings, seeds=seeds, lr=FLAGS.lr)
            config = train.TrainConfig(steps=FLAGS.steps, eval_every=FLAGS.eval_every)
            if out.is_dir() and any(out.iterdir()) and not FLAGS.overwrite:
                raise UsageError(f"output folder {out} is not empty: pass --overwrite to replace it")
            image = datasets.load_any(FLAGS.image, FLAGS.size)
    except FileNotFoundError:
        print(f"batchnorm.py: error: image file not found: {FLAGS.image}", file=sys.stderr)
        sys.exit(2)
    except (ValueError, OSError) as error:
        print(f"batchnorm.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    if not FLAGS.redraw:
        started = time.perf_counter()
        rows, curves = [], {"train_psnr": [], "test_psnr": []}
        for split_name, batchnorm in ARMS:
            split = data.make_split(image, split_name)
            stacks = train.train_sweep(specs, split, dataclasses.replace(config, batchnorm=batchnorm))
            history = results.history_arrays(stacks)
            rows += [{**row, "split": split_name, "batchnorm": batchnorm} for row in results.model_rows(stacks)]
            for name in curves:
                curves[name].append(history[name])
            print(f"{split_name}, batchnorm {batchnorm}: {len(specs)} models, "
                  f"elapsed {(time.perf_counter() - started) / 60:.1f} min", flush=True)
        results.write_json(out / "rows.json", rows)
        results.write_npz(out / "history.npz", eval_steps=history["eval_steps"],
                          **{name: np.concatenate(parts) for name, parts in curves.items()})
        command = " ".join(["python", "-m", "experiments.batchnorm", *sys.argv[1:]])
        results.write_json(out / "batchnorm.json", {"command": command, "size": FLAGS.size, "steps": FLAGS.steps,
                                                     "thresholds": thresholds,
                                                     "wall_s": round(time.perf_counter() - started, 1),
                                                     "environment": results.environment()})
    viz.write_batchnorm_figures(out)
    print((out / "table.md").read_text())


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
