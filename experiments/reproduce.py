"""Reproduces Table 1 (2D images) of Tancik et al. (2020) on locally made image sets.

    python -m experiments.reproduce                     # CPU default: 64 x 64 images
    python -m experiments.reproduce --size=512 --seeds=3 --name=reproduce512   # the paper's size, on a GPU

For each image set (natural photographs and rendered text, see
nerf_toy_jax/datasets.py): first a grid search of the Gaussian sigma and
the positional scale (and with --lrs, of the learning rate of no mapping and
basic) on the set's validation images, then every encoding x
seed on each test image with the chosen values; the paper's protocol
otherwise (nerf_toy_jax/protocol.py): holdout split, 4 x 256 MLP without
BatchNorm, Adam, 2000 full-batch steps. Writes runs/<name>/ (or --out): table.md
(mean ± std test PSNR beside the paper's), search.md, rows.json,
reconstructions.png, reproduce.json, and units/ (the rows of every model
trained on each image). --resume reuses every model already trained in the
folder at the same --size, --steps and --eval_every and trains only the
others: an interrupted reproduction continues, and a wider search grid, more
seeds or more encodings cost only the new models. reconstructions/ holds the
latest trained first-seed model of each encoding on each test image.

The best sigma and scale depend on resolution: they are frequencies in
cycles per image, and the training grid's Nyquist limit is size / 4.
"""

import sys
import time
import zlib

from absl import app, flags

import experiments
from experiments.parsing import UsageError, output_folder, parse_floats, parse_seeds
from nerf_toy_jax import data, datasets, encodings, evaluate, experiment, protocol, rundir, state, tiles, train, viz

flags.DEFINE_integer("size", 64, "Image side in pixels (the paper: 512). Train and test grids are size / 2.")
flags.DEFINE_integer("steps", protocol.STEPS, "Training steps of every model.")
flags.DEFINE_list("seeds", ["2"], "Test seeds: one number N for 0..N-1, or several seeds.")
flags.DEFINE_list("sets", list(datasets.SETS), "Image sets.")
flags.DEFINE_list("encodings", list(encodings.CLASSIC), "Encodings of the test table (also: hashgrid, siren).")
flags.DEFINE_list("sigmas", ["1", "2", "4"], "Gaussian sigmas searched on the validation images.")
flags.DEFINE_list("positional_scales", ["2", "3", "4"], "Positional scales searched on the validation images.")
flags.DEFINE_list("lrs", [], "Learning rates of no mapping and basic searched on the validation images; empty: "
                  "the paper's (1e-2 on the natural set, 1e-3 on text).")
flags.DEFINE_integer("text_images", 4, "Test images of the text set.")
flags.DEFINE_integer("validation_text_images", 2, "Validation images of the text set.")
flags.DEFINE_integer("eval_every", 100, "Steps between evaluations.")
flags.DEFINE_integer("tile", 0, "Train tiles of this many pixels cut from each --size image instead of whole "
                     "images (e.g. --size=512 --tile=64: the paper's pixel scale on a CPU); 0: whole images.")
flags.DEFINE_integer("tiles_per_image", 4, "With --tile: tiles per image, drawn from seeds over the whole image.")
flags.DEFINE_string("name", "reproduce", "Run name; the default output folder is runs/<name>.")
flags.DEFINE_string("out", None, "Output folder. Default: runs/<name> (ignored by git).")
flags.DEFINE_bool("overwrite", False, "Replace an existing reproduction in the output folder.")
flags.DEFINE_bool("resume", False, "Continue the reproduction in the output folder: reuse its models trained "
                  "at the same --size, --steps and --eval_every, train the others.")
FLAGS = flags.FLAGS

SETTINGS = ("size", "steps", "seeds", "sets", "encodings", "sigmas", "positional_scales", "lrs", "text_images",
            "validation_text_images", "eval_every", "tile", "tiles_per_image")
TRAINING = ("size", "steps", "eval_every", "tile")
OUTPUTS = ("reproduce.json", "rows.json", "table.md", "search.md", "reconstructions.png", "units", "images",
           "reconstructions")  # what a stored model was trained with; --resume needs them equal


def settings():
    return {name: FLAGS[name].value for name in SETTINGS}


def checked_flags():
    """Validates every flag and the output folder; returns (out, seeds, sigmas, scales). Writes nothing."""
    for name in FLAGS.sets:
        if name not in datasets.SETS:
            raise UsageError(f"unknown image set {name!r}: choose from {', '.join(datasets.SETS)}")
    for name in FLAGS.encodings:
        if name not in encodings.NAMES:
            raise UsageError(f"unknown encoding {name!r}: choose from {', '.join(encodings.NAMES)}")
    if not FLAGS.sets or not FLAGS.encodings:
        raise UsageError("--sets and --encodings must not be empty")
    if FLAGS.tile and not data.HOLDOUT_MIN_SIDE <= FLAGS.tile <= FLAGS.size:
        raise UsageError(f"--tile must be between {data.HOLDOUT_MIN_SIDE} and --size ({FLAGS.size}), got {FLAGS.tile}")
    if FLAGS.tile and not 1 <= FLAGS.tiles_per_image <= (FLAGS.size // FLAGS.tile) ** 2:
        raise UsageError(f"--tiles_per_image must be between 1 and {(FLAGS.size // FLAGS.tile) ** 2} "
                         f"(the tiles of {FLAGS.tile} px in {FLAGS.size} px), got {FLAGS.tiles_per_image}")
    if FLAGS.size < data.HOLDOUT_MIN_SIDE:
        raise UsageError(f"--size must be at least {data.HOLDOUT_MIN_SIDE} for the holdout split, got {FLAGS.size}")
    for name in ("steps", "eval_every", "text_images", "validation_text_images"):
        if FLAGS[name].value < 1:
            raise UsageError(f"--{name} must be positive, got {FLAGS[name].value}")
    seeds = parse_seeds(FLAGS.seeds)
    sigmas = parse_floats("sigmas", FLAGS.sigmas)
    scales = parse_floats("positional_scales", FLAGS.positional_scales)
    lrs = parse_floats("lrs", FLAGS.lrs)
    if not sigmas or not scales or min(sigmas) <= 0 or min(scales) < 0:
        raise UsageError("--sigmas must be positive and --positional_scales >= 0, and neither empty")
    if lrs and min(lrs) <= 0:
        raise UsageError("--lrs must be positive")
    if "natural" in FLAGS.sets:
        datasets.natural_path("astronaut")  # scikit-image is there
    out = output_folder(FLAGS.out, FLAGS.name, FLAGS.resume, FLAGS.overwrite, "reproduce.json")
    if FLAGS.resume:
        experiment.refuse_changed(out, rundir.load_json(out / "reproduce.json")["settings"], settings(), TRAINING,
                       "models trained otherwise", "resume with the same --size, --steps and --eval_every")
    return out, seeds, sigmas, scales, lrs


def image_tiles(set_name, part, name):
    """(image, [(tile index or None, its pixels, its origin or None)]) of one set image: the whole image, or
    --tiles_per_image tiles of --tile pixels at positions drawn from a seed of the image's name."""
    image = datasets.load(set_name, part, name, FLAGS.size)
    if not FLAGS.tile:
        return image, [(None, image, None)]
    seed = zlib.crc32(f"{set_name}/{part}/{name}".encode())
    origins = tiles.tile_origins(FLAGS.size, FLAGS.size, FLAGS.tile, FLAGS.tiles_per_image, seed)
    return image, [(t, piece, origin.tolist()) for t, (piece, origin) in
                   enumerate(zip(tiles.cut(image, origins, FLAGS.tile), origins))]


def train_image(out, phase, set_name, part, name, specs, config):
    """Rows of ``specs`` on one image (holdout split), one per model and tile: stored ones from units/, the
    others trained (every tile a signal of its own, many in one stack) and stored.

    Returns:
      (rows in ``specs`` order, tile by tile, seconds spent, number of models trained).
    """
    path = out / "units" / f"{phase}-{set_name}-{name}.json"
    stored = {protocol.row_key(row): row for row in (rundir.load_rows(path) if path.is_file() else [])}
    image, pieces = image_tiles(set_name, part, name)
    wanted = [(spec, t) for spec in specs for t, _, _ in pieces]
    missing = [(spec, t) for spec, t in wanted if protocol.spec_key(spec, t) not in stored]
    started = time.perf_counter()
    if missing:
        by_index = {t: (data.make_split(piece, "holdout"), origin) for t, piece, origin in pieces}
        missing_specs = [spec for spec, _ in missing]
        sweep = train.train_sweep(missing_specs, [by_index[t][0] for _, t in missing], config)
        for (_, t), row in zip(missing, sweep.rows()):
            extra = {} if t is None else {"tile": t, "origin": by_index[t][1], "tile_size": FLAGS.tile,
                                          "image_size": FLAGS.size}
            row = {**row, "set": set_name, "part": part, "image": name, **extra}
            stored[protocol.row_key(row)] = row
        if phase == "test":
            first, first_tile = pieces[0][1], pieces[0][0]
            rundir.write_png(out / "images" / f"{set_name}-{name}.png", first)
            first_seed = min(spec.seed for spec in specs)
            for index, (spec, t) in enumerate(missing):
                if spec.seed == first_seed and t == first_tile:
                    _, variables, matrix = sweep.model(index)
                    side = first.shape[0]
                    prediction = evaluate.render(config, first.shape[-1], spec, variables, matrix, side, side)
                    rundir.write_png(out / "reconstructions" / f"{set_name}-{name}-{spec.name}.png", prediction)
        rundir.write_json(path, list(stored.values()))
    rows = [stored[protocol.spec_key(spec, t)] for spec, t in wanted]
    return rows, time.perf_counter() - started, len(missing)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    try:
        out, seeds, sigmas, scales, lrs = checked_flags()
    except ValueError as error:
        print(f"reproduce.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    if FLAGS.overwrite:
        rundir.clear_run(out, OUTPUTS)
    config = state.TrainConfig(steps=FLAGS.steps, eval_every=FLAGS.eval_every, batchnorm=False,
                               frame_size=FLAGS.tile or FLAGS.size)
    started = time.perf_counter()
    previous = rundir.load_json(out / "reproduce.json") if FLAGS.resume else {"commands": []}
    command = " ".join(["python", "-m", "experiments.reproduce", *sys.argv[1:]])
    commands = previous.get("commands", [previous.get("command")]) + [command]
    record = {"settings": settings(), "commands": protocol.commands_run({"commands": commands}),
              "paper_size": protocol.PAPER_SIZE, "choices": {}, "wall_s": trained_seconds(out),
              "environment": rundir.environment()}
    rundir.write_json(out / "reproduce.json", record)

    names = {(set_name, part): datasets.image_names(
        set_name, part, FLAGS.text_images if part == "test" else FLAGS.validation_text_images)
        for set_name in FLAGS.sets for part in datasets.PARTS}
    units = sum(len(v) for v in names.values())
    signal = (f"{FLAGS.tiles_per_image} tiles of {FLAGS.tile} px per image" if FLAGS.tile else "whole images")
    print(f"reproducing Tancik et al. (2020) Table 1 at {FLAGS.size} x {FLAGS.size} px (the paper: "
          f"{protocol.PAPER_SIZE}), {signal}; holdout split, training grid Nyquist {(FLAGS.tile or FLAGS.size) // 4} "
          f"cycles per {'tile' if FLAGS.tile else 'image'}; {FLAGS.steps} steps; {units} images; writing {out}")
    done = 0
    all_rows = []
    for set_name in FLAGS.sets:
        search_rows = []
        for name in names[(set_name, "validation")]:
            rows, seconds, trained = train_image(out, "search", set_name, "validation", name,
                                                 protocol.search_specs(sigmas, scales, lrs), config)
            search_rows += rows
            done += 1
            progress(done, units, started, f"search {set_name}/{name}", rows, seconds, trained)
        choices = protocol.best_choices(search_rows)
        record["choices"][set_name] = choices
        rates = "".join(f", lr {rate:g} for {name}" for name, rate in choices.get("lr", {}).items())
        print(f"{set_name}: chose sigma {choices['sigma']:g}, positional scale {choices['positional_scale']:g}{rates}")
        specs = protocol.test_specs(set_name, FLAGS.encodings, seeds, choices, FLAGS.tile or FLAGS.size)
        all_rows += search_rows
        for name in names[(set_name, "test")]:
            rows, seconds, trained = train_image(out, "test", set_name, "test", name, specs, config)
            all_rows += rows
            done += 1
            progress(done, units, started, f"test {set_name}/{name}", rows, seconds, trained)
    record["wall_s"] = trained_seconds(out)
    rundir.write_json(out / "rows.json", all_rows)
    rundir.write_json(out / "reproduce.json", record)
    viz.write_reproduction_figures(out)
    print()
    print((out / "table.md").read_text())
    print(f"results in {out}: table.md, search.md, reconstructions.png")


def trained_seconds(out):
    """Seconds spent training and evaluating every model stored in ``out``/units, by every command that
    trained them, an interrupted one included: the sum of each unit's stack wall times (the models of a
    stack share their stack's ``wall_s``)."""
    return round(sum(sum(set(row["wall_s"] for row in rundir.load_rows(path)))
                     for path in sorted((out / "units").glob("*.json"))), 1)


def progress(done, total, started, what, rows, seconds, trained):
    elapsed = time.perf_counter() - started
    best = max(rows, key=lambda row: row["test_psnr"])
    diverged = sum(row["diverged"] for row in rows)
    print(f"[{done}/{total}] {what}: {len(rows)} models, {trained} trained in {seconds:.0f} s, "
          f"{len(rows) - trained} stored; "
          f"best test PSNR {best['test_psnr']:.2f} dB ({best['label']})"
          f"{f', {diverged} diverged' if diverged else ''} | elapsed {elapsed / 60:.1f} min", flush=True)


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
