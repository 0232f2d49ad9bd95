"""The rows of a run, one per model, and the Markdown tables made of them: pure functions, no files.

A row is a dict of the model's spec (``COLUMNS``: index, label, encoding, its
parameters, seed, lr), its final metrics (``metrics.METRICS``), divergence,
steps and seconds; ``run.metrics.csv`` and ``metrics.json`` hold them.
"""

import math

import numpy as np

from nerf_toy_jax import encodings, metrics

PARAM_COLUMNS = encodings.columns()
COLUMNS = ("index", "label", "encoding", *PARAM_COLUMNS, "seed", "lr", *metrics.NAMES, "diverged", "diverged_step",
           "steps", "wall_s")


def ordered(stacks):
    """(spec, stack, k) for every model of ``stacks``, in stack order."""
    return [(spec, stack, k) for stack in stacks for k, spec in enumerate(stack.specs)]


def model_rows(stacks):
    """One dict per model with its spec, final metrics, divergence and timing (``COLUMNS``)."""
    rows = []
    for index, (spec, stack, k) in enumerate(ordered(stacks)):
        params = dict.fromkeys(PARAM_COLUMNS)
        params.update((name, value) for name, value in spec.encoding.params().items() if name in params)
        rows.append({
            "index": index, "label": spec.label, "encoding": spec.name, **params,
            "seed": spec.seed, "lr": spec.lr,
            **{name: float(values[k, -1]) for name, values in stack.scores.items()},
            "diverged": bool(stack.diverged[k]),
            "diverged_step": int(stack.diverged_step[k]),
            "steps": int(stack.eval_steps[-1]),
            "wall_s": round(float(stack.wall_s), 3),
        })
    return rows


def group_rows(rows):
    """Indices of the models of each (label, lr), in order of first appearance.

    Returns:
      {group name: [model indices]}; the name is the label, with the learning
      rate appended where one label was trained at several.
    """
    keys = [(row["label"], row["lr"]) for row in rows]
    several_lrs = {label for label, _ in keys if len({lr for other, lr in keys if other == label}) > 1}
    groups = {}
    for index, (label, lr) in enumerate(keys):
        name = f"{label} lr={lr:g}" if label in several_lrs else label
        groups.setdefault(name, []).append(index)
    return groups


def representatives(rows):
    """{group name: index of its first model (the lowest seed)}, one per ``group_rows`` group."""
    return {name: members[0] for name, members in group_rows(rows).items()}


def scale_of(row):
    """The swept scale of a row's encoding (its ``scale_field``: sigma, finest resolution, omega_0), or None."""
    field = encodings.get(row["encoding"]).scale_field
    return None if field is None else row.get(field)


def aggregate(rows):
    """Mean and std over seeds per ``group_rows`` group, sorted by mean test PSNR, best first.

    Diverged models are counted but left out of the means.
    """
    table = []
    for name, indices in group_rows(rows).items():
        members = [rows[i] for i in indices]
        alive = [row for row in members if not row["diverged"]]
        entry = {"label": name, "encoding": members[0]["encoding"], "scale": scale_of(members[0]),
                 "lr": members[0]["lr"], "models": len(members), "diverged": len(members) - len(alive)}
        for name in shown_metrics(rows):
            values = np.asarray([row[name] for row in alive], np.float64)
            entry[name] = (float(np.mean(values)) if len(values) else math.nan,
                           float(np.std(values)) if len(values) else math.nan)
        table.append(entry)
    return sorted(table, key=lambda entry: -np.nan_to_num(entry["test_psnr"][0], nan=-np.inf))


def shown_metrics(recorded=None):
    """{name: metric} of the metrics tables show, in ``metrics.METRICS`` order; with ``recorded`` (rows, or
    a history), only those it holds: a run folder written before a metric existed still redraws."""
    present = None if recorded is None else set(recorded[0] if isinstance(recorded, list) else recorded)
    return {metric.name: metric for metric in metrics.METRICS
            if metric.shown and (present is None or metric.name in present)}


def mean_cell(mean, std, count, digits):
    """A table cell of a mean over ``count`` models: "mean ± std", the mean alone of one model."""
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if count > 1 else "")


def markdown_table(rows):
    """The ``aggregate`` table as Markdown: a group's cells are the mean ± std over its (non-diverged) models,
    the mean alone where it has one; a "diverged" column (the count of each group) only where a model diverged."""
    shown = shown_metrics(rows)
    table = aggregate(rows)
    flagged = any(entry["diverged"] for entry in table)
    headers = [f"{metric.split} {metric.title}" for metric in shown.values()] + ["diverged"] * flagged
    lines = ["| encoding | scale | lr | models | " + " | ".join(headers) + " |",
             "|---|---|---|---|" + "---|" * len(headers)]
    for entry in table:
        sigma = "" if entry["scale"] is None else f"{entry['scale']:g}"
        cells = [mean_cell(mean, std, entry["models"] - entry["diverged"], metric.digits)
                 for name, metric in shown.items() for mean, std in [entry[name]]]
        cells += [str(entry["diverged"] or "")] * flagged
        lines.append(f"| {entry['encoding']} | {sigma} | {entry['lr']:g} | {entry['models']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def signals_markdown(rows):
    """Test PSNR of every signal (rows) and ``group_rows`` group (columns), the mean over seeds, and in a last
    row the signals on which each group is the best, as Markdown; for runs of many signals (rows with a
    "signal")."""
    groups = group_rows(rows)
    names = list(dict.fromkeys(row["signal"] for row in rows))
    means = np.full((len(names), len(groups)), -np.inf)
    for a, name in enumerate(names):
        for b, members in enumerate(groups.values()):
            values = [rows[i]["test_psnr"] for i in members if rows[i]["signal"] == name and not rows[i]["diverged"]]
            if values:
                means[a, b] = np.mean(values)
    lines = ["| signal | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for name, row in zip(names, means):
        lines.append(f"| {name} | " + " | ".join(f"{mean:.2f}" if np.isfinite(mean) else "diverged" for mean in row)
                     + " |")
    best = np.argmax(means, axis=1)
    lines.append("| best on | " + " | ".join(f"{np.sum(best == b)} of {len(names)}" for b in range(len(groups)))
                 + " |")
    return "\n".join(lines) + "\n"
