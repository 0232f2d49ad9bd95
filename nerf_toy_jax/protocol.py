"""The 2D image-regression protocol of Tancik et al. (2020), Table 1, and its bookkeeping.

Protocol: holdout split (train on pixels [::2, ::2], test on [1::2, 1::2]);
MLP 4 x 256, ReLU, sigmoid output, no BatchNorm; Adam, 2000 full-batch
steps, lr 1e-3 (1e-2 for "none" and "basic" on the natural set); m = 256
rows of B (positional: 128 frequencies per axis); sigma and the positional
scale chosen by grid search on separate validation images.

Rows are per-model dicts as in ``tables.model_rows``, tagged with the image
set, part and image name.
"""

import math

import numpy as np

from nerf_toy_jax import encodings, specs as specs_lib, tiles

# Test PSNR (dB), mean over 16 images each, at 512 x 512 (Tancik et al. 2020, Table 1).
PAPER = {
    "natural": {"none": 19.32, "basic": 21.72, "positional": 24.95, "gaussian": 25.57},
    "text": {"none": 18.40, "basic": 20.48, "positional": 27.57, "gaussian": 30.47},
}
PAPER_CHOICES = {"natural": {"sigma": 10.0, "positional_scale": 6.0},
                 "text": {"sigma": 14.0, "positional_scale": 5.0}}
PAPER_SIZE = 512
STEPS = 2000
LR = 1e-3
HIGH_LR = {"natural": {"none": 1e-2, "basic": 1e-2}, "text": {}}
MAPPING_SIZE = 256
PAPER_ORDER = ("none", "basic", "positional", "gaussian")  # Table 1's ordering, worst to best
SEARCHED = {"gaussian": "sigma", "positional": "positional_scale"}
LR_SEARCHED = ("none", "basic")  # the encodings whose learning rate the paper set per image set
_ENCODING_OF = {parameter: name for name, parameter in SEARCHED.items()}


def varied_field(name):
    """The parameter the protocol's models of encoding ``name`` vary in: the searched one, or its scale."""
    return SEARCHED.get(name, encodings.get(name).scale_field)


def spec_key(spec, tile=None):
    """What tells the protocol's models apart: (encoding, its varied parameter, seed, lr, tile index or None)."""
    field = varied_field(spec.name)
    return spec.name, None if field is None else float(getattr(spec.encoding, field)), spec.seed, spec.lr, tile


def row_key(row):
    """``spec_key`` of the model a row (``tables.model_rows``, tagged with its tile) describes."""
    field = varied_field(row["encoding"])
    return row["encoding"], None if field is None else float(row[field]), row["seed"], row["lr"], row.get("tile")


def pool_tiles(rows):
    """Image-level rows: the rows of one image's tiles (same encoding, parameter, seed and lr) become one row
    whose train and test PSNR come from the mean squared error over all those tiles' pixels
    (``tiles.pooled_psnr``; every tile has as many pixels); rows without a tile pass through. A model of
    the image counts as diverged when one of its tiles did."""
    pooled, members = [], {}
    for row in rows:
        if row.get("tile") is None:
            pooled.append(row)
        else:
            members.setdefault((row["set"], row["image"], *row_key(row)[:4]), []).append(row)
    for group in members.values():
        alive = [row for row in group if not row["diverged"]]
        row = {key: value for key, value in group[0].items() if key not in ("tile", "origin", "index")}
        row["tiles"] = len(group)
        row["diverged"] = len(alive) < len(group)
        for name in ("train_psnr", "test_psnr"):
            values = [10.0 ** (-one[name] / 10.0) for one in alive]
            row[name] = tiles.pooled_psnr(values, [1] * len(values)) if values else math.nan
        pooled.append(row)
    return pooled


def search_specs(sigmas, positional_scales, lrs=(), lr=LR):
    """The validation grid, seed 0: Gaussian at every sigma and positional at every scale (at ``lr``), and
    no mapping and basic at every learning rate of ``lrs`` (none: the paper's fixed rates)."""
    return ([specs_lib.make_spec("gaussian", 0, lr, sigma=float(s), mapping_size=MAPPING_SIZE) for s in sigmas]
            + [specs_lib.make_spec("positional", 0, lr, positional_freqs=MAPPING_SIZE // 2, positional_scale=float(s))
               for s in positional_scales]
            + [specs_lib.make_spec(name, 0, float(rate)) for name in LR_SEARCHED for rate in lrs])


def best_value(rows, encoding, value_of, metric="test_psnr"):
    """The value (``value_of(row)``) of ``encoding``'s rows with the best mean ``metric`` (higher is better)
    over the rows that share it; diverged models count as -inf. None when ``encoding`` has no rows."""
    members = [row for row in rows if row["encoding"] == encoding]
    values = sorted({value_of(row) for row in members})
    if not values:
        return None
    means = [np.mean([-math.inf if row["diverged"] else row[metric] for row in members
                      if value_of(row) == value]) for value in values]
    return values[int(np.argmax(means))]


def best_scales(rows, metric="test_psnr"):
    """{encoding: the value of its scale (``Encoding.scale_field``) with the best mean ``metric`` over every
    signal and seed} of each encoding that ``rows`` (``tables.model_rows``) hold at several scales: a
    validation sweep's choices. Diverged models count as -inf."""
    names = dict.fromkeys(row["encoding"] for row in rows)
    fields = {name: encodings.get(name).scale_field for name in names}
    return {name: best_value(rows, name, lambda row, field=field: row[field], metric)
            for name, field in fields.items()
            if field is not None and len({row[field] for row in rows if row["encoding"] == name}) > 1}


def best_choices(rows):
    """The searched value of each encoding with the best mean test PSNR over the validation images.

    Args:
      rows: search rows of one image set.

    Returns:
      {"sigma": best sigma, "positional_scale": best scale}, and "lr": {encoding: best rate} of no mapping
      and basic where their rates were searched; diverged models count as -inf.
    """
    rows = pool_tiles(rows)
    choices = {parameter: best_value(rows, encoding, lambda row: row[parameter])
               for encoding, parameter in SEARCHED.items()}
    rates = {name: best_value(rows, name, lambda row: row["lr"]) for name in LR_SEARCHED}
    if any(rate is not None for rate in rates.values()):
        choices["lr"] = {name: rate for name, rate in rates.items() if rate is not None}
    return {key: value for key, value in choices.items() if value is not None}


def test_specs(set_name, encoding_names, seeds, choices, size):
    """The test models of one set: every encoding x seed, with the searched choices and the paper's lrs
    (no mapping and basic at their searched rates where ``choices`` holds them).

    Every other encoding takes its ``default_lr`` (the paper's 1e-3 for its
    four, the published ones for the later designs); the hash grid's finest resolution is the image side ``size``.
    """
    params = {"sigma": choices.get("sigma", PAPER_CHOICES[set_name]["sigma"]), "mapping_size": MAPPING_SIZE,
              "positional_freqs": MAPPING_SIZE // 2,
              "positional_scale": choices.get("positional_scale", PAPER_CHOICES[set_name]["positional_scale"]),
              "hashgrid_finest": float(size)}
    return specs_lib.make_grid(encoding_names, seeds=[int(seed) for seed in seeds],
                               lrs={**HIGH_LR[set_name], **choices.get("lr", {})}, params=params)


def per_image(row, parameter):
    """A row's searched value in the units of its whole image: sigma in cycles per image, the positional scale
    (a log2 frequency) plus log2(image / tile); a row of a whole image keeps its value."""
    value = row[parameter]
    if row.get("tile_size") is None:
        return value
    if parameter == "sigma":
        return tiles.per_image(value, row["tile_size"], row["image_size"])
    return value + math.log2(row["image_size"] / row["tile_size"])


def in_units(row, parameter):
    """A row's searched value as text; for a tile, also per image (sigma 2.5 on a 128-px tile of a 512-px
    image: "2.5 (10 per image)"). The positional scale is a log2 frequency: + log2(image / tile) per image."""
    if row.get("tile_size") is None:
        return f"{row[parameter]:g}"
    return f"{row[parameter]:g} ({per_image(row, parameter):g} per image)"


def grids(rows):
    """Where each searched value of one set's search rows lies in its grid.

    Returns:
      {parameter: (chosen value, lowest, highest searched)} for every searched parameter present.
    """
    found = {}
    for parameter, chosen in best_choices(rows).items():
        if parameter not in _ENCODING_OF:
            continue
        values = [row[parameter] for row in rows if row["encoding"] == _ENCODING_OF[parameter]]
        found[parameter] = (chosen, min(values), max(values))
    return found


def bracketed(chosen, lowest, highest):
    """Whether a grid search's best value lies inside its grid, so that the grid brackets the optimum."""
    return lowest < chosen < highest


def summary(rows):
    """Per (set, encoding): test and train PSNR mean ± std over all images and seeds, the mean
    over images of the std over seeds, counts, and the paper's number.

    Returns:
      list of dicts in set order, then encoding order of first appearance.
    """
    rows = pool_tiles(rows)
    table = []
    keys = list(dict.fromkeys((row["set"], row["encoding"]) for row in rows))
    for set_name, encoding in keys:
        members = [row for row in rows if (row["set"], row["encoding"]) == (set_name, encoding)]
        alive = [row for row in members if not row["diverged"]]
        images = sorted({row["image"] for row in alive})
        seed_std = [np.std([row["test_psnr"] for row in alive if row["image"] == image]) for image in images]
        test = np.asarray([row["test_psnr"] for row in alive])
        train = np.asarray([row["train_psnr"] for row in alive])
        parameter = SEARCHED.get(encoding)
        table.append({
            "set": set_name, "encoding": encoding,
            "parameter": None if parameter is None else f"{'sigma' if parameter == 'sigma' else 'scale'} "
                                                         f"{in_units(members[0], parameter)}",
            "lr": members[0]["lr"], "images": len(images), "models": len(members),
            "diverged": len(members) - len(alive),
            "test_psnr": (float(test.mean()), float(test.std())) if len(test) else (math.nan, math.nan),
            "train_psnr": (float(train.mean()), float(train.std())) if len(train) else (math.nan, math.nan),
            "seed_std": float(np.mean(seed_std)) if seed_std else math.nan,
            "paper": PAPER[set_name].get(encoding),
        })
    return table


def summary_markdown(rows):
    """``summary`` as a Markdown table beside the paper's Table 1."""
    lines = ["| set | encoding | chosen | lr | images x seeds | test PSNR (dB) | seed std | train PSNR (dB) "
             "| paper (512 px) |", "|---|---|---|---|---|---|---|---|---|"]
    for entry in summary(rows):
        paper = "" if entry["paper"] is None else f"{entry['paper']:.2f}"
        diverged = f" ({entry['diverged']} diverged)" if entry["diverged"] else ""
        lines.append(
            f"| {entry['set']} | {entry['encoding']} | {entry['parameter'] or ''} | {entry['lr']:g} | "
            f"{entry['images']} x {entry['models'] // max(entry['images'], 1)}{diverged} | "
            f"{entry['test_psnr'][0]:.2f} ± {entry['test_psnr'][1]:.2f} | {entry['seed_std']:.2f} | "
            f"{entry['train_psnr'][0]:.2f} ± {entry['train_psnr'][1]:.2f} | {paper} |")
    return "\n".join(lines) + "\n"


def search_markdown(rows):
    """Validation test PSNR (mean over validation images) of every searched value, per set."""
    rows = pool_tiles(rows)
    lines = ["| set | encoding | value | validation test PSNR (dB) | chosen |", "|---|---|---|---|---|"]
    for set_name in dict.fromkeys(row["set"] for row in rows):
        set_rows = [row for row in rows if row["set"] == set_name]
        choices = best_choices(set_rows)
        for encoding, parameter in SEARCHED.items():
            for value in sorted({row[parameter] for row in set_rows if row["encoding"] == encoding}):
                values = [row["test_psnr"] for row in set_rows
                          if row["encoding"] == encoding and row[parameter] == value and not row["diverged"]]
                mark = "**yes**" if choices.get(parameter) == value else ""
                example = next(row for row in set_rows if row["encoding"] == encoding and row[parameter] == value)
                lines.append(f"| {set_name} | {encoding} | {parameter.replace('positional_', '')} "
                             f"{in_units(example, parameter)} | "
                             f"{np.mean(values) if values else math.nan:.2f} | {mark} |")
        for encoding, chosen in choices.get("lr", {}).items():
            for rate in sorted({row["lr"] for row in set_rows if row["encoding"] == encoding}):
                values = [row["test_psnr"] for row in set_rows
                          if row["encoding"] == encoding and row["lr"] == rate and not row["diverged"]]
                lines.append(f"| {set_name} | {encoding} | lr {rate:g} | {np.mean(values) if values else math.nan:.2f} "
                             f"| {'**yes**' if rate == chosen else ''} |")
    notes = []
    for set_name in dict.fromkeys(row["set"] for row in rows):
        for parameter, (chosen, lowest, highest) in grids([row for row in rows if row["set"] == set_name]).items():
            where = ("inside the grid" if bracketed(chosen, lowest, highest) else
                     f"at the grid's {'lower' if chosen == lowest else 'upper'} edge: the optimum may lie beyond it")
            notes.append(f"- {set_name}: {parameter.replace('_', ' ')} {chosen:g} lies {where} "
                         f"({lowest:g} to {highest:g})\n")
    return "\n".join(lines) + "\n\n" + "".join(notes)


def gaps(rows, set_name, order=PAPER_ORDER):
    """Each step of the paper's ordering on one set, image by image: how much the next encoding gains.

    Args:
      rows: test rows (tiles are pooled first).

    Returns:
      list of {"pair": (lower, higher), "mean": mean gain over images (dB), "lowest", "highest": the
      smallest and largest gain of an image, "holds": images where the gain is positive, "images": their
      number, "seed_std": the larger of the two encodings' seed spreads (``summary``'s seed std)}; a gain
      of an image is the difference of the two encodings' test PSNRs, each the mean over its seeds.
    """
    rows = [row for row in pool_tiles(rows) if row["set"] == set_name and not row["diverged"]]
    spread = {entry["encoding"]: entry["seed_std"] for entry in summary(rows)}
    present = [name for name in order if name in spread]
    steps = []
    for lower, higher in zip(present[:-1], present[1:]):
        images = sorted({row["image"] for row in rows if row["encoding"] == lower}
                        & {row["image"] for row in rows if row["encoding"] == higher})
        gains = np.asarray([np.mean([row["test_psnr"] for row in rows if row["image"] == image
                                     and row["encoding"] == higher])
                            - np.mean([row["test_psnr"] for row in rows if row["image"] == image
                                       and row["encoding"] == lower]) for image in images])
        steps.append({"pair": (lower, higher), "mean": float(gains.mean()), "lowest": float(gains.min()),
                      "highest": float(gains.max()), "holds": int(np.sum(gains > 0)), "images": len(images),
                      "seed_std": max(spread[lower], spread[higher])})
    return steps


def gaps_markdown(rows):
    """``gaps`` of every set as a Markdown table."""
    lines = ["| set | step | mean gain (dB) | per image (dB) | images where it holds | seed std (dB) |",
             "|---|---|---|---|---|---|"]
    for set_name in dict.fromkeys(row["set"] for row in rows):
        for step in gaps(rows, set_name):
            lines.append(f"| {set_name} | {step['pair'][0]} → {step['pair'][1]} | {step['mean']:+.2f} | "
                         f"{step['lowest']:+.2f} to {step['highest']:+.2f} | {step['holds']} of {step['images']} | "
                         f"{step['seed_std']:.2f} |")
    return "\n".join(lines) + "\n"


def ordering_holds(rows, set_name, order=PAPER_ORDER):
    """Whether mean test PSNR increases along ``order`` on ``set_name`` (encodings absent are skipped)."""
    means = {entry["encoding"]: entry["test_psnr"][0] for entry in summary(rows) if entry["set"] == set_name}
    present = [means[name] for name in order if name in means]
    return all(a < b for a, b in zip(present[:-1], present[1:]))


def commands_run(record):
    """The commands that made a reproduction folder, in order, a command repeated to resume an interrupted one
    named once."""
    commands = record.get("commands") or [record["command"]]
    return [command for index, command in enumerate(commands) if index == 0 or command != commands[index - 1]]


def resolution_rung(record, rows):
    """One rung of the resolution study: an ``experiments.reproduce`` folder summarised per image set.

    Args:
      record, rows: the folder's reproduce.json and rows.json.

    Returns:
      {"size": image side (px), "tile": tile side (px) or None, "tiles_per_image": tiles of an image or None,
       "seeds": test seeds, "commands": [str],
       "wall_s": float, "sets": {set: {"psnr": {encoding: (mean, std) of test PSNR over images and seeds},
       "lr": {encoding: learning rate} of no mapping and basic, "ordering": whether the paper's ordering
       holds, and for "sigma" and "positional_scale": (chosen,
       lowest, highest searched), each in the units of the whole image (``per_image``)}}}.
    """
    settings = record["settings"]
    test = [row for row in rows if row["part"] == "test"]
    sets = {}
    for set_name in dict.fromkeys(row["set"] for row in test):
        search = [row for row in rows if row["part"] != "test" and row["set"] == set_name]
        entries = [item for item in summary(test) if item["set"] == set_name]
        entry = {"psnr": {item["encoding"]: item["test_psnr"] for item in entries},
                 "lr": {item["encoding"]: item["lr"] for item in entries if item["encoding"] in LR_SEARCHED},
                 "ordering": ordering_holds(test, set_name)}
        for parameter, values in grids(search).items():
            example = next(row for row in search if row["encoding"] == _ENCODING_OF[parameter])
            entry[parameter] = tuple(per_image({**example, parameter: value}, parameter) for value in values)
        sets[set_name] = entry
    return {"size": settings["size"], "tile": settings.get("tile") or None,
            "tiles_per_image": settings.get("tiles_per_image") if settings.get("tile") else None,
            "seeds": len({row["seed"] for row in test}), "commands": commands_run(record), "wall_s": record["wall_s"],
            "sets": sets}


def resolution_markdown(rungs, folders):
    """The resolution study as Markdown: per set and rung, the chosen values per image with their grids and
    each encoding's test PSNR; then the rungs' folders, commands and wall times.

    Args:
      rungs: ``resolution_rung`` of each folder, in order of resolution.
      folders: the rungs' folder names.
    """
    names = list(dict.fromkeys(name for rung in rungs for entry in rung["sets"].values() for name in entry["psnr"]))
    lines = ["| set | image (px) | trained as | seeds | sigma per image (grid) | positional scale per image (grid) | "
             "lr of none, basic | " + " | ".join(f"{name} (dB)" for name in names) + " | paper's ordering |",
             "|---|---|---|---|---|---|---|" + "---|" * len(names) + "---|"]

    def searched(values):
        chosen, lowest, highest = values
        return f"{chosen:.3g} ({lowest:.3g}–{highest:.3g}{'' if bracketed(*values) else ', at an edge'})"

    for set_name in dict.fromkeys(name for rung in rungs for name in rung["sets"]):
        for rung in rungs:
            entry = rung["sets"].get(set_name)
            if entry is None:
                continue
            cells = [f"{entry['psnr'][name][0]:.2f} ± {entry['psnr'][name][1]:.2f}" if name in entry["psnr"] else ""
                     for name in names]
            rates = ", ".join(f"{rate:g}" for rate in entry["lr"].values())
            lines.append(f"| {set_name} | {rung['size']} | {_trained_as(rung)} | {rung['seeds']} | "
                         f"{searched(entry['sigma'])} | {searched(entry['positional_scale'])} | {rates} | "
                         + " | ".join(cells) + f" | {'holds' if entry['ordering'] else 'does not hold'} |")
    lines += ["", "| image (px) | trained as | folder | command | wall time (min) |", "|---|---|---|---|---|"]
    for rung, folder in zip(rungs, folders):
        lines.append(f"| {rung['size']} | {_trained_as(rung)} | {folder} | "
                     + ", then ".join(f"`{command}`" for command in rung["commands"])
                     + f" | {rung['wall_s'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def _trained_as(rung):
    return "whole" if rung["tile"] is None else f"{rung['tiles_per_image']} tiles of {rung['tile']} px"
