"""Pictures of a run: convergence GIF, training curves, final reconstructions.

Every function takes arrays (as stored in a run folder) and writes one file
atomically; none needs a trained model.
"""

import io
import pathlib

import imageio.v3 as iio
import jax
import matplotlib
import matplotlib.colors
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from nerf_toy_jax import data, encodings, meshes, metrics, protocol, rundir, signals, specs as specs_lib, tables

CAPTION_PX = 20  # the caption strip above a tile; its text is 3 px smaller


def to_uint8_rgb(image):
    """[H, W], [H, W, 1] or [H, W, 3], float in [0, 1] or uint8 -> uint8 [H, W, 3]."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.dtype != np.uint8:
        image = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _fit(image, height, width):
    """uint8 RGB image resized to [height, width, 3] (Lanczos)."""
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS))


def _captioned(tile, text):
    """A caption strip above a uint8 RGB tile."""
    height, width = tile.shape[:2]
    canvas = Image.new("RGB", (width, height + CAPTION_PX), "white")
    canvas.paste(Image.fromarray(tile), (0, CAPTION_PX))
    font = ImageFont.load_default(size=CAPTION_PX - 3)
    ImageDraw.Draw(canvas).text((2, 1), text, fill="black", font=font)
    return np.asarray(canvas)


GIF_WIDTH = 1600  # pixels: wider rows of tiles wrap


def convergence_gif(path, original, frames, labels, steps, tile=128, seconds_per_frame=0.25):
    """Side-by-side GIF: the original, then one column per model (in rows of at most ``GIF_WIDTH`` pixels),
    one frame per step.

    Args:
      path: output .gif.
      original: [H, W, C] float32 in [0, 1].
      frames: uint8 [P, G, h, w, C] predictions of P models at G steps.
      labels: P captions.
      steps: [G] step of each frame, shown in the first caption.
      tile: approximate longest side of each tile in pixels (nearest-neighbour upscale).
    """
    _, count, height, width, _ = frames.shape
    original = np.repeat(_fit(to_uint8_rgb(original), height, width)[None, None], count, axis=1)
    columns = np.concatenate([original, [[to_uint8_rgb(frame) for frame in model] for model in frames]])
    captions = [["original", *labels]] * count
    titles = [f"step {int(step)} of {int(steps[-1])}" for step in steps]
    tiled_gif(path, columns, captions, tile, [int(seconds_per_frame * 1000)] * (count - 1) + [2000], titles)


def tiled_gif(path, columns, captions, tile, durations, titles=None):
    """A GIF of captioned tiles side by side, in rows of at most ``GIF_WIDTH`` pixels, with an optional title
    strip above each frame.

    Args:
      path: output .gif.
      columns: uint8 [P, G, h, w, 3]: P tiles in each of G frames.
      captions: G lists of P captions.
      tile: approximate longest side of each tile in pixels (nearest-neighbour upscale).
      durations: G milliseconds.
      titles: None, or G lines written above the tiles of each frame.
    """
    zoom = max(1, tile // max(columns.shape[2:4]))
    pictures = []
    for g, frame_captions in enumerate(captions):
        tiles = [_captioned(np.repeat(np.repeat(column[g], zoom, axis=0), zoom, axis=1), caption)
                 for column, caption in zip(columns, frame_captions)]
        tiles = [np.pad(t, ((0, 2), (0, 2), (0, 0)), constant_values=255) for t in tiles]
        per_row = max(1, GIF_WIDTH // tiles[0].shape[1])  # wide tiles (a curve's) wrap into rows
        tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % per_row if len(tiles) > per_row else 0)
        rows = [np.concatenate(tiles[i:i + per_row], axis=1) for i in range(0, len(tiles), per_row)]
        picture = np.concatenate(rows, axis=0)[:-2] if len(rows) > 1 else rows[0][:-2]
        if titles is not None:
            picture = _captioned(picture, titles[g])
        pictures.append(picture)
    buffer = io.BytesIO()
    iio.imwrite(buffer, np.stack(pictures), extension=".gif", duration=list(durations), loop=0)
    rundir.write_bytes(path, buffer.getvalue())


def line_colours(count):
    """``count`` colours for lines: tab10's, or tab20's when more than 10 lines would repeat them."""
    palette = matplotlib.colormaps["tab10" if count <= 10 else "tab20"].colors
    return [palette[index % len(palette)] for index in range(count)]


def subplots(*grid, figsize, **options):
    """A figure of its own and its axes (``Figure.subplots``): no pyplot state and no backend chosen, so that
    importing the package leaves a notebook's figures inline."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(*grid, **options)


def _save(figure, path):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    rundir.write_bytes(path, buffer.getvalue())


def curves_png(path, history, groups, holdout):
    """The training loss, then one panel per quantity of the shown metrics (``metrics.METRICS``) against
    step: mean line and ±std band over each group's models; test solid, train dashed (on holdout only).

    Args:
      history: ``rundir.history_arrays`` dict.
      groups: {label: [model indices]}, e.g. one group per (encoding, sigma, lr).
      holdout: draw train metrics dashed beside test metrics.
    """
    panels = {}
    for metric in tables.shown_metrics(history).values():
        if metric.split == "test" or holdout:
            panels.setdefault(metric.quantity, []).append(metric)
    panels = {quantity: sorted(members, key=lambda metric: metric.split != "test")
              for quantity, members in panels.items()}
    figure, axes = subplots(1, 1 + len(panels), figsize=(5 * (1 + len(panels)), 4.2))
    loss_steps = np.arange(history["loss"].shape[1])
    eval_steps = history["eval_steps"]
    for colour, (label, members) in zip(line_colours(len(groups)), groups.items()):
        diverged = bool(np.any(history["diverged"][members]))
        name = label + (" (diverged)" if diverged else "")
        lines = [(axes[0], loss_steps, history["loss"], "-", name)]
        lines += [(axis, eval_steps, history[metric.name], "-" if metric.split == "test" else "--",
                   name if metric.split == "test" else None)
                  for axis, panel in zip(axes[1:], panels.values()) for metric in panel]
        for axis, x, values, style, legend in lines:
            mean, std = _mean_std(values[members])
            axis.plot(x, mean, style, color=colour, label=legend, lw=1.4)
            if len(members) > 1:
                axis.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2, lw=0)
    axes[0].set(yscale="log", title="training loss (MSE)", xlabel="step")
    for axis, panel in zip(axes[1:], panels.values()):
        both = len({metric.split for metric in panel}) > 1
        on_train = any(metric.split == "train" and metric.quantity == panel[0].quantity
                       for metric in tables.shown_metrics(history).values())  # of both splits: no split named
        title = (f"{panel[0].title}: test solid, train dashed" if both
                 else f"{panel[0].split} {panel[0].title}" + (" (= train: memorize split)" if on_train else ""))
        axis.set(title=title, xlabel="step", ylabel=panel[0].title if both else f"{panel[0].split} {panel[0].title}")
    for axis in axes:
        axis.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    _save(figure, path)


def _mean_std(values):
    """NaN-aware mean and std over axis 0 (diverged models are NaN)."""
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(values)
        count = np.maximum(finite.sum(0), 1)
        filled = np.where(finite, values, 0.0)
        mean = filled.sum(0) / count
        std = np.sqrt(np.where(finite, (filled - mean) ** 2, 0.0).sum(0) / count)
    return np.where(finite.any(0), mean, np.nan), std


def image_grid_png(path, images, captions, columns=None, title=None):
    """Images side by side (wrapping after ``columns``), each with a caption.

    Args:
      images: list of [H, W, C] float32 in [0, 1] or uint8.
      captions: one string per image.
    """
    count = len(images)
    aspect = max(1.0, images[0].shape[1] / images[0].shape[0])  # wide pictures (a curve's): fewer per row
    most = max(1, int(8 // aspect))
    columns = columns or -(-count // -(-count // most))  # at most 8 squares per row, rows evenly filled
    rows = -(-count // columns)
    figure, axes = subplots(rows, columns, figsize=(2.6 * aspect * columns, 2.9 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, caption in zip(axes.flat, images, captions):
        axis.imshow(to_uint8_rgb(image), interpolation="nearest")
        axis.set_title(caption, fontsize=8)
    if title:  # a fixed band in inches above the captions, whatever the number of rows
        height = figure.get_figheight()
        figure.subplots_adjust(top=1 - 0.75 / height)
        figure.suptitle(title, fontsize=10, y=1 - 0.15 / height)
    _save(figure, path)


def drawn_frames(out, record, frames):
    """The frames of a run folder as pictures: uint8 [P, G, h, w, C]; an image's frames are pictures already,
    another kind's (``signals.Kind.picture``) are drawn with the signal of its signal.npz beside them."""
    kind = signals.get(record.get("kind", "image"))
    if kind.name == "image":
        return frames
    reference = stored_values(out, record, "signal.npz")
    return np.stack([np.stack([to_uint8_rgb(kind.picture(frame / 255.0, reference)) for frame in model])
                     for model in frames])


def stored_values(out, record, name):
    """The values of a run folder's signal.npz or predictions.npz, float32 in [0, 1] (``signals.Kind.loaded``)."""
    with np.load(pathlib.Path(out) / name) as archive:
        return signals.get(record["kind"]).loaded(archive["values"])


SPECTRUM_BANDS_PER_OCTAVE = 3  # the residual spectra are RMS amplitudes over bands this wide


def residual_spectra_png(path, signal, predictions, labels, holdout):
    """Spectral bias seen directly: the amplitude spectrum of a curve (grey) and of each model's residual
    (prediction - curve, on every sample), against frequency in cycles per unit, as RMS amplitudes over
    third-octave bands; the training grid's Nyquist frequency dotted.

    Args:
      signal: float32 [n, 1]; predictions: float32 [P, n, 1]; labels: P names.
    """
    n = len(signal)
    freqs = np.fft.rfftfreq(n, 1 / n)[1:]  # cycles per unit, without the mean
    edges = 2.0 ** np.arange(0, np.log2(freqs[-1]) + 1 / SPECTRUM_BANDS_PER_OCTAVE, 1 / SPECTRUM_BANDS_PER_OCTAVE)
    band = np.digitize(freqs, edges)
    bands = [b for b in np.unique(band) if np.any(band == b)]
    centres = [np.exp(np.mean(np.log(freqs[band == b]))) for b in bands]

    def amplitude(values):
        spectrum = np.abs(np.fft.rfft(np.asarray(values, np.float64)[:, 0]))[1:] / n
        return [np.sqrt(np.mean(spectrum[band == b] ** 2)) for b in bands]

    figure, axis = subplots(figsize=(9, 4.6))
    curve = np.asarray(amplitude(signal))
    axis.loglog(centres, curve, color="0.5", lw=3, alpha=0.6, label="the curve")
    for colour, label, prediction in zip(line_colours(len(labels)), labels, predictions):
        axis.loglog(centres, amplitude(prediction - signal), "-o", ms=2.5, color=colour, lw=1.2, label=label)
    nyquist = n / (4 if holdout else 2)
    axis.axvline(nyquist, color="k", ls=":", lw=1, label=f"training grid Nyquist ({nyquist:g})")
    axis.set_ylim(bottom=1e-4 * curve.max())
    axis.set(xlabel="frequency (cycles per unit)", ylabel="RMS amplitude per third of an octave",
             title="spectrum of the curve (grey) and of each fit's residual")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    _save(figure, path)


VIDEO_SECONDS_PER_FRAME = 0.125


def video_gif(path, video, predictions, labels, holdout, tile=128, frame="frame"):
    """The original video and each model's fit side by side, played frame by frame; with a holdout split the
    odd frames, which no training pixel saw, are captioned "held out".

    Args:
      video: float32 [T, H, W, C] in [0, 1]; predictions: float32 [P, T, H, W, C]; labels: P names.
      frame: what a frame is called in the captions ("view" for a scene's orbit).
    """
    columns = np.stack([[to_uint8_rgb(one_frame) for one_frame in one] for one in (video, *predictions)])
    captions = [[f"original  {frame} {t}" + ("  held out" if holdout and t % 2 else ""), *labels]
                for t in range(len(video))]
    tiled_gif(path, columns, captions, tile, [int(VIDEO_SECONDS_PER_FRAME * 1000)] * len(video))


def per_frame_png(path, video, predictions, labels, holdout, frame="frame"):
    """PSNR and SSIM (``metrics``) of each model's fit, frame by frame over every pixel of the frame; with a
    holdout split the odd frames, which no training pixel saw, are shaded.

    Args:
      video: float32 [T, H, W, C] in [0, 1]; predictions: float32 [P, T, H, W, C]; labels: P names.
      frame: what a frame is called ("orbit view" for a scene's).
    """
    frames = np.arange(len(video))
    panels = [metric for metric in metrics.METRICS if metric.name in ("test_psnr", "test_ssim")]
    figure, axes = subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for axis, metric in zip(axes[0], panels):
        for colour, label, prediction in zip(line_colours(len(labels)), labels, predictions):
            values = np.asarray(jax.vmap(metric.function)(prediction, video))
            axis.plot(frames, values, "-o", ms=2.5, lw=1.2, color=colour, label=label)
        if holdout:
            for t in frames[1::2]:
                axis.axvspan(t - 0.5, t + 0.5, color="0.9", lw=0, zorder=0)
        axis.set(xlabel=frame + (" (shaded: held out in time)" if holdout else ""),
                 ylabel=metric.title, title=f"{metric.title} of each {frame}, every pixel")
        axis.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    _save(figure, path)


def depth_png(path, truth, depths, labels, views):
    """Depth maps of a scene's orbit views: one row per model (the ground truth's first, where known), one
    column per view, the expected distance along each ray in one colour scale; white where a ray is less than
    half opaque (the background).

    Args:
      truth: float [T, H, W] (NaN: background), or None; depths: float [P, T, H, W]; labels: P names;
      views: the indices of the orbit views drawn.
    """
    rows = ([("ground truth", truth)] if truth is not None else []) + list(zip(labels, depths))
    known = np.concatenate([np.asarray(values, np.float32)[views].ravel() for _, values in rows])
    known = known[np.isfinite(known)]
    low, high = (np.percentile(known, (1, 99)) if known.size else (0.0, 1.0))
    figure, axes = subplots(len(rows), len(views), figsize=(1.6 * len(views) + 1.6, 1.6 * len(rows)),
                                squeeze=False)
    colormap = matplotlib.colormaps["viridis"].copy()
    colormap.set_bad("white")
    for (label, values), row in zip(rows, axes):
        for view, axis in zip(views, row):
            shown = axis.imshow(np.asarray(values[view], np.float32), cmap=colormap, vmin=low, vmax=high)
            axis.set_xticks([])
            axis.set_yticks([])
        row[0].set_ylabel(label, fontsize=8)
    for view, axis in zip(views, axes[0]):
        axis.set_title(f"orbit view {view}", fontsize=9)
    figure.colorbar(shown, ax=axes, shrink=0.8, label="depth (scene units from the camera)")
    _save(figure, path)


def meshes_png(path, surfaces, captions, columns=4):
    """Surfaces (``meshes.surface``) drawn side by side from one viewpoint, lit from the upper left, on the unit
    cube, one captioned panel each."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    rows = -(-len(surfaces) // columns)
    figure = Figure(figsize=(3.2 * min(columns, len(surfaces)), 3.4 * rows))
    light = matplotlib.colors.LightSource(azdeg=315, altdeg=45)
    for index, ((vertices, faces), caption) in enumerate(zip(surfaces, captions)):
        axis = figure.add_subplot(rows, min(columns, len(surfaces)), index + 1, projection="3d")
        if len(faces):
            axis.add_collection3d(Poly3DCollection(vertices[faces], facecolors="0.75", linewidths=0, shade=True,
                                                   lightsource=light))
        axis.set(xlim=(0, 1), ylim=(0, 1), zlim=(0, 1))
        axis.set_box_aspect((1, 1, 1), zoom=1.25)
        axis.set_axis_off()
        axis.set_title(caption, fontsize=9)
    figure.subplots_adjust(wspace=0, hspace=0.05)
    _save(figure, path)


def write_run_figures(out):
    """Regenerates metrics.md and every picture of a run folder from its saved files.

    Reads config.json, metrics.json, history.npz, frames.npz, image.png and
    reconstructions/ (and a curve's or a video's signal.npz and
    predictions.npz); writes metrics.md, curves.png, convergence.gif,
    final.png, psnr_vs_scale.{png,md} where an encoding was trained at several
    scales, gifs/model_XXXX.gif if the run asked for them, a curve's
    spectrum.png, a video's video.gif and per_frame.png, a shape's
    meshes/*.ply and mesh.png, and a scene's orbit.gif, per_view.png and depth.png; first the same in the folder of the
    validation sweep that chose its scales, if any. A run without pictures
    (``config.pictures`` False) gets its tables and curves only.
    """
    out = pathlib.Path(out)
    record = rundir.load_record(out)
    if "validation" in record:  # the sweep that chose the scales, a run folder of its own
        write_run_figures(out / record["validation"]["folder"])
    config = record["config"]
    rows = rundir.load_rows(out / "metrics.json")
    history = rundir.load_history(out)
    rundir.write_text(out / "metrics.md", tables.markdown_table(rows) + "\n" + run_footer(record, rows))
    if "signal" in rows[0]:
        rundir.write_text(out / "signals.md", "Test PSNR (dB) of each signal, the mean over seeds.\n\n"
                          + tables.signals_markdown(rows))
    groups = tables.group_rows(rows)
    curves_png(out / "curves.png", history, groups, holdout=config["split"] == "holdout")
    if swept_encodings(rows):
        gridded = signals.get(record.get("kind", "image")).split is None  # views of a scene are rays, no grid
        train_side = min(record["image_shape"][:-1]) // (2 if config["split"] == "holdout" else 1) if gridded else None
        psnr_vs_scale_png(out / "psnr_vs_scale.png", rows, train_side)
        rundir.write_text(out / "psnr_vs_scale.md", psnr_vs_scale_markdown(
            rows, config["image"], signals.get(record.get("kind", "image")).headline))
    if not config.get("pictures", True):
        return
    image = np.asarray(Image.open(out / "image.png"), np.float32) / 255.0
    image = image[..., None] if image.ndim == 2 else image

    def caption(name, index):
        row = rows[index]
        return name + (" (diverged)" if row["diverged"] else "")

    chosen = tables.representatives(rows)
    stored = rundir.load_frames(out)
    position = {int(model): p for p, model in enumerate(stored["models"])}
    frames = drawn_frames(out, record, stored["frames"])
    columns = [position[index] for index in chosen.values()]
    convergence_gif(out / "convergence.gif", image, frames[columns],
                    [caption(name, index) for name, index in chosen.items()], stored["frame_steps"])
    if config.get("model_gifs"):
        for index, p in position.items():
            convergence_gif(out / "gifs" / f"model_{index:04d}.gif", image, frames[p:p + 1],
                            [f"{rows[index]['label']} seed {rows[index]['seed']}"], stored["frame_steps"])

    finals = [np.asarray(Image.open(rundir.reconstruction_path(out, index))) for index in chosen.values()]
    captions = [f"{caption(name, index)}\nPSNR {rows[index]['test_psnr']:.2f} dB"
                + (f"  SSIM {rows[index]['test_ssim']:.3f}" if "test_ssim" in rows[index] else "")
                for name, index in chosen.items()]
    image_grid_png(out / "final.png", [image] + finals, ["original"] + captions,
                   title=f"final reconstructions, {config['split']} split, step {rows[0]['steps']} (test metrics)")
    if record.get("kind", "image") != "image":  # the kind's own figures, from the values behind the pictures
        kind = signals.get(record["kind"])
        with np.load(out / "signal.npz") as archive:  # views of a scene: the depths too, where known
            signal, true_depth = kind.loaded(archive["values"]), archive.get("depth")
        with np.load(out / "predictions.npz") as archive:
            predictions, depths = kind.loaded(archive["values"]), archive.get("depth")
            models = [int(index) for index in archive["models"]]
        labels = [dict(zip(chosen.values(), chosen))[index] for index in models]
        holdout = config["split"] == "holdout"
        if record["kind"] == "curve":
            residual_spectra_png(out / "spectrum.png", signal, predictions, labels, holdout)
        elif record["kind"] == "video":
            video_gif(out / "video.gif", signal, predictions, labels, holdout)
            per_frame_png(out / "per_frame.png", signal, predictions, labels, holdout)
        elif record["kind"] == "views":
            video_gif(out / "orbit.gif", signal, predictions, labels, holdout=False, frame="view")
            per_frame_png(out / "per_view.png", signal, predictions, labels, holdout=False, frame="orbit view")
            depth_png(out / "depth.png", true_depth, depths, labels, signals.picture_frames(len(signal)))
        elif record["kind"] == "occupancy":
            surfaces = [meshes.surface(values) for values in (signal, *predictions)]
            for name, (vertices, faces) in zip(["original"] + [f"model_{index:04d}" for index in models], surfaces):
                meshes.write_ply(out / "meshes" / f"{name}.ply", vertices, faces)
            meshes_png(out / "mesh.png", surfaces, ["original"] + [
                f"{label}\nIoU {rows[index]['test_iou']:.3f}, near the surface {rows[index]['test_surface_iou']:.3f}"
                for label, index in zip(labels, models)])


def _stacks_and_minutes(record, rows):
    """(the run's stacks of model indices, its minutes of training and evaluation: the stacks' wall times)."""
    specs = [specs_lib.spec_from_dict(fields) for fields in record["specs"]]
    stacks = specs_lib.group_specs(specs, record["config"]["train"]["max_stack"], rundir.signal_dim(record))
    starts = np.cumsum([0] + [len(stack) for stack in stacks[:-1]])  # rows are in stack order
    return stacks, sum(rows[start]["wall_s"] for start in starts) / 60


def run_footer(record, rows):
    """One line under a run's table: models, stacks, steps, and the wall time of training and evaluation."""
    stacks, minutes = _stacks_and_minutes(record, rows)
    count = len({row["signal"] for row in rows}) if "signal" in rows[0] else 1
    line = (f"{len(rows)} model{'s' * (len(rows) > 1)}{f' on {count} signals' if count > 1 else ''} "
            f"in {len(stacks)} stack{'s' * (len(stacks) > 1)}, "
            f"{rows[0]['steps']} steps: {minutes:.1f} min of training "
            f"and evaluation on {rundir.hardware(record['environment'])}.\n")
    if "validation" in record:
        chosen = ", ".join(f"{name} {encodings.get(name).scale_symbol}={value:g}"
                           for name, value in record["validation"]["scales"].items())
        line += (f"\nScales chosen by the validation sweep on {record['config']['validation']} "
                 f"({record['validation']['folder']}/): {chosen}.\n")
    return line


def swept_encodings(rows):
    """Encodings of ``rows`` trained at several values of their scale (``Encoding.scale_field``), registry order."""
    return [name for name, encoding in encodings.REGISTRY.items() if encoding.scale_field is not None
            and len({tables.scale_of(row) for row in rows if row["encoding"] == name}) > 1]


def psnr_vs_scale_png(path, rows, train_side):
    """Train and test PSNR against each swept encoding's scale (log axis), mean ± std over seeds.

    One panel per encoding of ``swept_encodings``, with its
    ``scale_reference`` (e.g. the training grid's Nyquist frequency
    ``train_side / 2`` beside Gaussian sigma) as a vertical line.

    Args:
      rows: per-model rows (metrics.json); diverged ones are left out.
      train_side: pixels along the shorter side of the training grid, or None for a signal without one
        (views of a scene): no reference line.
    """
    names = swept_encodings(rows)
    figure, axes = subplots(1, len(names), figsize=(6.5 * len(names), 4.2), squeeze=False)
    for axis, encoding in zip(axes[0], names):
        members = [row for row in rows if row["encoding"] == encoding and not row["diverged"]]
        scales = sorted({tables.scale_of(row) for row in members})
        for name, style in (("train_psnr", "--"), ("test_psnr", "-")):
            values = [[row[name] for row in members if tables.scale_of(row) == scale] for scale in scales]
            mean = np.asarray([np.mean(v) for v in values])
            std = np.asarray([np.std(v) for v in values])
            axis.plot(scales, mean, style + "o", ms=3, label=name.replace("_psnr", ""))
            axis.fill_between(scales, mean - std, mean + std, alpha=0.2, lw=0)
        if encodings.get(encoding).scale_reference is not None and train_side is not None:
            fraction, what = encodings.get(encoding).scale_reference
            value = fraction * train_side
            axis.axvline(value, color="grey", ls=":", label=f"{what} ({value:g})")
        tests = [np.mean([row["test_psnr"] for row in members if tables.scale_of(row) == s]) for s in scales]
        short = encodings.get(encoding).scale_label.split(" (")[0]
        axis.set(xscale="log", xlabel=encodings.get(encoding).scale_label, ylabel="PSNR (dB)",
                 title=f"{encoding}: PSNR against {short} (best test {scales[int(np.argmax(tests))]:g})")
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    _save(figure, path)


def _scale_text(scale):
    """A scale in three significant figures, or whole when it is 1000 or more (a hash grid's 1024 cells)."""
    return f"{scale:.3g}" if abs(scale) < 1000 else f"{scale:.0f}"


def psnr_vs_scale_markdown(rows, image=None, headline="test_psnr"):
    """Train and test PSNR (mean ± std over seeds) of each swept encoding, one column per scale value, and the
    kind's ``headline`` metric (``signals.Kind.headline``: what a validation sweep chooses by) where it is another.

    Args:
      rows: per-model rows (metrics.json); diverged ones are left out.
      image: the run's --image, named in the first column (None: the default image).
    """
    lines = []
    for encoding in swept_encodings(rows):
        members = [row for row in rows if row["encoding"] == encoding and not row["diverged"]]
        scales = sorted({tables.scale_of(row) for row in members})
        short = encodings.get(encoding).scale_label.split(" (")[0]
        lines += [""] * bool(lines) + [f"| image | {short} | " + " | ".join(map(_scale_text, scales)) + " |",
                  "|---|---|" + "---|" * len(scales)]
        for name in dict.fromkeys(("train_psnr", "test_psnr", headline)):
            metric = next(metric for metric in metrics.METRICS if metric.name == name)
            cells = [_cell([row[name] for row in members if tables.scale_of(row) == scale], metric.digits)
                     for scale in scales]
            lines.append(f"| {image or data.DEFAULT_IMAGE.split('.')[0]} | {metric.split} {metric.title} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_reproduction_figures(out):
    """Regenerates table.md, search.md and reconstructions.png of an ``experiments.reproduce`` folder.

    Reads reproduce.json, rows.json, images/ and reconstructions/.
    """
    out = pathlib.Path(out)
    record = rundir.load_json(out / "reproduce.json")
    rows = rundir.load_rows(out / "rows.json")
    settings = record["settings"]
    test_rows = [row for row in rows if row["part"] == "test"]
    commands = protocol.commands_run(record)
    header = (("Command" if len(commands) == 1 else "Commands, in order (each --resume trains only new models)")
              + ": " + ", then ".join(f"`{command}`" for command in commands)
              + f" ({record['wall_s'] / 60:.1f} min in all on {rundir.hardware(record['environment'])}).\n\n"
              f"{settings['size']} x {settings['size']} px images (the paper: {record['paper_size']})"
              + (f", each cut into {settings['tiles_per_image']} tiles of {settings['tile']} px trained as signals of "
                 "their own (an image's PSNR from the squared error over all its tiles' pixels)"
                 if settings.get("tile") else "") + ", holdout split, "
              f"{settings['steps']} steps; test PSNR is the mean ± std over every test image and seed; "
              "seed std is the mean over images of the std over seeds.\n\n")
    orderings = "".join(
        f"- {set_name}: none < basic < positional < gaussian on mean test PSNR: "
        f"{'holds' if protocol.ordering_holds(test_rows, set_name) else 'does not hold'}\n"
        for set_name in dict.fromkeys(row["set"] for row in test_rows))
    rundir.write_text(out / "table.md", header + protocol.summary_markdown(test_rows) + "\n" + orderings
                      + "\nEach step of the paper's ordering, image by image (an image's gain: the difference of the "
                        "two encodings' test PSNRs, each the mean over its seeds):\n\n"
                      + protocol.gaps_markdown(test_rows))
    rundir.write_text(out / "search.md", protocol.search_markdown([row for row in rows if row["part"] != "test"]))

    names = list(dict.fromkeys(row["encoding"] for row in test_rows))
    first_seed = min(row["seed"] for row in test_rows)
    images, captions = [], []
    for set_name, name in dict.fromkeys((row["set"], row["image"]) for row in test_rows):
        images.append(np.asarray(Image.open(out / "images" / f"{set_name}-{name}.png")))
        captions.append(f"{set_name} {name}")
        for encoding in names:
            row = next(row for row in test_rows if (row["set"], row["image"], row["encoding"], row["seed"])
                       == (set_name, name, encoding, first_seed))
            images.append(np.asarray(Image.open(out / "reconstructions" / f"{set_name}-{name}-{encoding}.png")))
            scale = f" scale={row['positional_scale']:g}" if encoding == "positional" else ""
            captions.append(f"{row['label']}{scale}\n"
                            f"{'tile ' if settings.get('tile') else ''}test PSNR {row['test_psnr']:.2f} dB")
    what = (f"the first {settings['tile']}-px tile of each test image" if settings.get("tile") else
            "test-image reconstructions")
    image_grid_png(out / "reconstructions.png", images, captions, columns=1 + len(names),
                   title=f"{what} at {settings['size']} px (seed {first_seed})")


def write_resolution_figures(root, folders):
    """The resolution study from ``experiments.reproduce`` folders under ``root``: resolution.md and one
    resolution_<set>.png per image set, in ``root``.

    Args:
      folders: names of the folders, in order of resolution.
    """
    root = pathlib.Path(root)
    rungs = [protocol.resolution_rung(rundir.load_json(root / folder / "reproduce.json"),
                                      rundir.load_rows(root / folder / "rows.json")) for folder in folders]
    rundir.write_text(root / "resolution.md", "Made by `python -m experiments.figures` from the folders below, "
                      "each made by its command; test PSNR is the mean ± std over the test images and seeds; "
                      "sigma and the positional scale in the units of the whole image.\n\n"
                      + protocol.resolution_markdown(rungs, folders))
    for set_name in dict.fromkeys(name for rung in rungs for name in rung["sets"]):
        resolution_png(root / f"resolution_{set_name}.png", rungs, set_name)


def resolution_png(path, rungs, set_name):
    """The resolution study of one image set: test PSNR of each encoding (mean over images and seeds; the
    spread across images, several dB, is in resolution.md; the paper's 512-px numbers as stars), then the
    chosen sigma and positional scale per image, each with the span of its searched grid and the line of
    proportion to resolution through the paper's choice. Whole-image rungs and tiled rungs are separate
    series (solid and dashed), so that a size trained both ways shows both.

    Args:
      rungs: ``protocol.resolution_rung`` of each folder, in order of resolution; rungs without the set are
        left out.
    """
    rungs = [rung for rung in rungs if set_name in rung["sets"]]
    kinds = [("whole images", "-", "o", 1.0, [rung for rung in rungs if rung["tile"] is None]),
             ("tiles", "--", "s", 1.04, [rung for rung in rungs if rung["tile"] is not None])]
    kinds = [kind for kind in kinds if kind[-1]]
    figure, axes = subplots(1, 3, figsize=(17, 4.6))
    names = list(dict.fromkeys(name for rung in rungs for name in rung["sets"][set_name]["psnr"]))
    colours = {name: f"C{i}" for i, name in enumerate(names)}
    for kind, line, marker, shift, members in kinds:
        for name in names:
            present = [(rung["size"] * shift, rung["sets"][set_name]["psnr"][name][0]) for rung in members
                       if name in rung["sets"][set_name]["psnr"]]
            axes[0].plot(*zip(*present), line + marker, ms=4, color=colours[name],
                         label=name if kind == kinds[0][0] else None)
    for name in names:
        if name in protocol.PAPER[set_name]:
            axes[0].plot(protocol.PAPER_SIZE * 1.08, protocol.PAPER[set_name][name], "*", ms=11,
                         color=colours[name])
    for kind, line, marker, _, _ in kinds:
        axes[0].plot([], [], line + marker, color="grey", ms=4, label=kind)
    axes[0].set(ylabel="test PSNR (dB)", title=f"{set_name}: mean test PSNR at the searched scales (stars: paper)")
    paper = protocol.PAPER_CHOICES[set_name]
    sizes = sorted({rung["size"] for rung in rungs} | {protocol.PAPER_SIZE})
    span = np.geomspace(sizes[0], protocol.PAPER_SIZE, 50)
    for axis, parameter, reference, label in (
            (axes[1], "sigma", paper["sigma"] * span / protocol.PAPER_SIZE, "sigma (cycles per image)"),
            (axes[2], "positional_scale", paper["positional_scale"] + np.log2(span / protocol.PAPER_SIZE),
             "positional scale per image (log2 frequency)")):
        for kind, _, marker, shift, members in kinds:
            chosen, lowest, highest = np.asarray([rung["sets"][set_name][parameter] for rung in members]).T
            axis.errorbar([rung["size"] * shift for rung in members], chosen, [chosen - lowest, highest - chosen],
                          fmt=marker, ms=6, capsize=4, color="k", mfc="k" if marker == "o" else "white",
                          label=f"chosen, {kind} (bar: searched grid)")
        axis.plot(span, reference, "--", color="grey",
                  label=f"{'in proportion to' if parameter == 'sigma' else '+ log2 of'} resolution")
        axis.plot(protocol.PAPER_SIZE * 1.08, paper[parameter], "*", ms=11, color="grey",
                  label=f"paper: {paper[parameter]:g} at {protocol.PAPER_SIZE} px")
        axis.set(ylabel=label, yscale="log" if parameter == "sigma" else "linear",
                 title=f"{set_name}: chosen {parameter.replace('_', ' ')} against resolution")
        axis.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ticks = ["\n".join([f"{size}"] + [f"tiles {rung['tile']}" for rung in rungs
                                     if rung["size"] == size and rung["tile"] is not None]) for size in sizes]
    for axis in axes:
        axis.set_xscale("log", base=2)
        axis.set_xticks(sizes, ticks)
        axis.minorticks_off()
        axis.set_xlabel("image side (px)")
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
    _save(figure, path)


NTK_INDICES = (2, 10, 50, 100, 200)  # eigenvalues, counted from 1, that the NTK table reports


def write_ntk_figures(out):
    """ntk.png and spectrum.md of an ``experiments.ntk`` folder, from its ntk.json."""
    record = rundir.load_json(pathlib.Path(out) / "ntk.json")
    ntk_png(pathlib.Path(out) / "ntk.png", record)
    indices = [i for i in NTK_INDICES if i <= record["points"]]
    lines = ["| encoding | " + " | ".join(f"eigenvalue {i} / largest" for i in indices) + " |",
             "|---|" + "---|" * len(indices)]
    for label, entry in record["kernels"].items():
        lines.append(f"| {label} | " + " | ".join(f"{entry['spectrum'][i - 1]:.1e}" for i in indices) + " |")
    rundir.write_text(pathlib.Path(out) / "spectrum.md", f"Command: `{record['command']}`; mean of the NTKs of "
                       "several initialisations on a 1D grid.\n\n" + "\n".join(lines) + "\n")


def ntk_png(path, record):
    """NTK eigenvalue spectra (left) and centre profiles (right) of ``experiments.ntk``'s ntk.json."""
    kernels = record["kernels"]
    points = record["points"]
    figure, (left, right) = subplots(1, 2, figsize=(11, 4.2))
    x = np.arange(points) / points
    for label, entry in kernels.items():
        spectrum = np.maximum(np.asarray(entry["spectrum"]), 1e-12)
        left.plot(np.arange(1, len(spectrum) + 1), spectrum, label=label)
        right.plot(x, entry["profile"], label=label)
    left.set(xscale="log", yscale="log", ylim=(1e-9, 2), xlabel="eigenvalue index",
             ylabel="eigenvalue / largest", title="NTK eigenvalue spectrum at initialisation")
    right.set(xlabel="x", ylabel="k(x, 0.5) / k(0.5, 0.5)", title="NTK profile around x = 0.5")
    for axis in (left, right):
        axis.grid(alpha=0.3, which="both")
    right.legend(fontsize=8)
    figure.suptitle(f"empirical NTK of the 4 x 256 ReLU MLP on {points} points in [0, 1), 1D", fontsize=10)
    _save(figure, path)


def _cell(values, digits=2):
    """Mean ± std of the finite ``values``; the mean alone of one, "-" of none."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    return tables.mean_cell(values.mean(), values.std(), len(values), digits) if len(values) else "-"


def write_arms_figures(out):
    """Redraws every arm's run folder, then arms.md and arms.png across the arms of ``out`` (arms.json).

    arms.md: per encoding group and arm, the shown metrics (mean ± std over
    seeds) and, for each of the config's ``thresholds``, the first evaluated
    step at which train PSNR reaches it, mean over the seeds that reach it
    (with their count). arms.png: one panel per arm, test PSNR (train PSNR
    dashed on holdout) against step, mean over seeds.
    """
    out = pathlib.Path(out)
    record = rundir.load_json(out / "arms.json")
    thresholds = record["config"]["thresholds"]
    runs = {}
    for arm in record["arms"]:
        write_run_figures(out / arm)
        runs[arm] = (rundir.load_record(out / arm), rundir.load_rows(out / arm / "metrics.json"),
                     rundir.load_history(out / arm))
    minutes = sum(_stacks_and_minutes(arm_record, rows)[1] for arm_record, rows, _ in runs.values())
    environment = next(iter(runs.values()))[0]["environment"]
    shown = tables.shown_metrics(next(iter(runs.values()))[1])
    lines = [f"Command: `{record['command']}` ({minutes:.1f} min on {rundir.hardware(environment)}); "
             "mean ± std over seeds.", "",
             "| encoding | arm | " + " | ".join(f"{m.split} {m.title}" for m in shown.values())
             + "".join(f" | steps to {t:g} dB (seeds)" for t in thresholds) + " |",
             "|---|---|" + "---|" * (len(shown) + len(thresholds))]
    groups = list(dict.fromkeys(name for _, rows, _ in runs.values() for name in tables.group_rows(rows)))
    for group in groups:
        for arm, (_, rows, history) in runs.items():
            members = tables.group_rows(rows).get(group)
            if members is None:
                continue
            alive = [i for i in members if not rows[i]["diverged"]]
            cells = [_cell([rows[i][name] for i in alive], metric.digits) for name, metric in shown.items()]
            for threshold in thresholds:
                steps = metrics.first_reaching(history["eval_steps"], history["train_psnr"][members], threshold)
                count = int(np.isfinite(steps).sum())
                cells.append(f"{np.nanmean(steps):.0f} ({count}/{len(members)})" if count
                             else f"- (0/{len(members)})")
            lines.append(f"| {group} | {arm} | " + " | ".join(cells) + " |")
    rundir.write_text(out / "arms.md", "\n".join(lines) + "\n")

    figure, axes = subplots(1, len(runs), figsize=(5 * len(runs), 4.2), squeeze=False, sharey=True)
    colours = {group: f"C{index % 10}" for index, group in enumerate(groups)}
    for axis, (arm, (arm_record, rows, history)) in zip(axes[0], runs.items()):
        holdout = arm_record["config"]["split"] == "holdout"
        for group, members in tables.group_rows(rows).items():
            for name, style in (("test_psnr", "-"), ("train_psnr", "--"))[:1 + holdout]:
                mean, _ = _mean_std(history[name][members])
                axis.plot(history["eval_steps"], mean, style, color=colours[group],
                          label=group if style == "-" else None)
        axis.set(xlabel="step", title=f"{arm} ({arm_record['config']['split']})")
        axis.grid(alpha=0.3)
    axes[0][0].set(ylabel="PSNR (dB)")
    axes[0][-1].legend(fontsize=7)
    figure.suptitle("test PSNR per arm (train PSNR dashed on holdout), mean over seeds", fontsize=10)
    _save(figure, out / "arms.png")


def time_to_quality_png(path, report):
    """Train PSNR against wall seconds (left) and steps (right) of ``experiments.benchmark --task=quality``."""
    figure, (left, right) = subplots(1, 2, figsize=(11, 4.2))
    thresholds = [float(t) for t in report["rows"][0]["reach"]]
    for row in report["rows"]:
        left.plot(row["seconds"], row["train_psnr"], label=f"{row['label']} (lr {row['lr']:g})")
        right.plot(row["eval_steps"], row["train_psnr"], label=row["label"])
    for axis, unit in ((left, "seconds of training (steps x time per step)"), (right, "step")):
        for threshold in thresholds:
            axis.axhline(threshold, color="grey", ls=":", lw=0.8)
        axis.set(xlabel=unit, ylabel="train PSNR (dB)")
        axis.grid(alpha=0.3)
    left.set(xscale="symlog", title="time to quality")
    right.set(title="steps to quality")
    left.legend(fontsize=8)
    figure.suptitle(f"{report['size']} x {report['size']} px, memorize, one model at a time on "
                    f"{report['device_kind']}", fontsize=10)
    _save(figure, path)
