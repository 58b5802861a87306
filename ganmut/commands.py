"""What the command line's commands do (:data:`COMMANDS`), once :mod:`ganmut.cli` has parsed their
arguments: each takes the parsed arguments and returns the exit status; a user's error is a
:class:`~ganmut.errors.GanmutError`, which the command line prints in one line."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .emotions import EMOTIONS
from .errors import CodeError, GanmutError, shorten
from .files import atomic_path, check_output


def _target(text: str) -> tuple[Path, str]:
    """The output path and its Pillow format, checked before any work: its folder exists, it is
    not a folder or a device, and its extension names a format Pillow writes."""
    from PIL import Image

    out = Path(text)
    if not out.parent.is_dir():
        raise GanmutError(f"folder {out.parent} does not exist" if not out.parent.exists() else f"{out.parent} is not a folder")
    if out.exists() and not out.is_file():
        raise GanmutError(f"{out} is {'a folder' if out.is_dir() else 'not a regular file'}; name an image file to write")
    fmt = Image.registered_extensions().get(out.suffix.lower())
    if fmt not in Image.SAVE:
        raise GanmutError(f"cannot write {shorten(out.name)}: no image format has the extension {shorten(out.suffix)}; "
                          "use e.g. .png, .jpg, .webp or .tif")
    return out, fmt


def _save(image, out: Path, fmt: str) -> list[str]:
    """Write ``image`` as ``fmt`` through a temporary file in the same folder, so an existing
    ``out`` is replaced whole or not at all; the notes on how it was written."""
    from .images import can_write, save_options, storable

    img = storable(image, fmt)
    if not can_write(img.mode, fmt):
        raise GanmutError(f"cannot write {out.name}: {fmt} cannot store {img.mode} images; choose e.g. .png or .tif")
    try:
        with atomic_path(out) as tmp:
            img.save(tmp, fmt, **save_options(fmt))
    except (OSError, ValueError) as e:
        raise GanmutError(f"cannot write {out.name}: {getattr(e, 'strerror', None) or e}") from None
    return [f"{fmt} cannot store {image.mode} images: {out.name} is written as {img.mode}"] if img is not image else []


def _notes(notes: tuple[str, ...]) -> None:
    """Print how the input was read and the output written, one `note:` line each, on stderr."""
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def _code(args: argparse.Namespace) -> tuple[tuple[float, ...] | None, str | None, float]:
    """(z, emotion, intensity) of ``--xy`` / ``--polar`` / ``--emotion [--intensity]``."""
    if args.intensity is not None and args.emotion is None:
        raise CodeError("--intensity applies to --emotion only")
    z = args.xy
    if args.polar is not None:
        theta, rho = args.polar
        z = (rho * math.cos(math.radians(theta)), rho * math.sin(math.radians(theta)))
    return z, args.emotion, 1.0 if args.intensity is None else args.intensity


def _print_readings(editor, result, prefix: str = "  ") -> None:
    from .classifier import FULL_INTENSITY

    e = editor.space.dominant(result.code)[0]
    edge = editor.space.intensity_of(result.code, e) >= FULL_INTENSITY
    for i, reading in enumerate(result.readings):
        print(f"{prefix}face {i}: {reading.describe()}")
        hint = reading.hint(EMOTIONS[e], edge)
        if hint:
            print(f"{prefix}  hint: {hint}")


def _edit(args: argparse.Namespace) -> int:
    from .editor import load
    from .images import read_image
    from .presets import PresetStore

    z, emotion, intensity = _code(args)
    model = args.model
    if args.preset is not None:
        preset = PresetStore(args.presets_file).get(args.preset)
        z, model = preset.z, model or preset.model
    model = model or "linear"
    src = Path(args.input)
    if src.is_dir():
        out_dir = _out_folder(Path(args.output), src)
    else:
        out, fmt = _target(args.output)
        check_output(out, src, args.like)
    if args.like is not None:
        z = _like(args, model)
    if src.is_dir():
        return _edit_folder(args, src, out_dir, model, z, emotion, intensity)
    loaded = read_image(args.input)
    editor = load(model, args.device, classifier=args.classifier if args.verbose else None, weights=args.weights)
    result = editor.edit(loaded.image, z=z, emotion=emotion, intensity=intensity, face=args.face)
    written = _save(result.image, out, fmt)
    code = ", ".join(f"{v:.3f}" for v in result.code)
    print(f"wrote {args.output}: {len(result.faces)} face(s) edited to code ({code})")
    _notes(loaded.notes + tuple(written))
    if args.verbose:
        target = EMOTIONS[editor.space.dominant(result.code)[0]]
        print(f"{editor.readout_status}; the code's dominant emotion is {target}")
        _print_readings(editor, result)
    return 0


def _like(args: argparse.Namespace, model: str) -> tuple[float, ...]:
    """The point the classifier reads on the face of ``--like``'s reference photo, said in one line."""
    from .editor import load

    editor = load(model, args.device, classifier=args.classifier, weights=args.weights)
    point, reading = editor.reference_point(args.like)
    top = ", ".join(f"{e} {p:.0%}" for e, p in sorted(reading.items(), key=lambda kv: -kv[1])[:3])
    print(f"{Path(args.like).name} reads as {top}: point ({', '.join(f'{v:.3f}' for v in point)})")
    return point


def _out_folder(out_dir: Path, src: Path) -> Path:
    """The folder ``-o`` names for the edits of the photos of ``src``, checked before any work."""
    from .images import IMAGE_SUFFIXES

    if out_dir.exists() and not out_dir.is_dir():
        raise GanmutError(f"{shorten(out_dir.name)} is not a folder: with a folder of photos, -o names a folder")
    if not out_dir.exists() and out_dir.suffix.lower() in IMAGE_SUFFIXES:
        raise GanmutError(f"{shorten(out_dir.name)} names an image file: with a folder of photos, -o names a folder "
                          "(made if missing)")
    if not out_dir.parent.is_dir():
        raise GanmutError(f"folder {out_dir.parent} does not exist")
    if out_dir.resolve() == src.resolve():
        raise GanmutError("write the edits to another folder than the photos (-o)")
    return out_dir


def _edit_folder(args: argparse.Namespace, src: Path, out_dir: Path, model: str, z, emotion: str | None,
                 intensity: float) -> int:
    """Every photo of ``src`` (not its sub-folders) to the folder ``out_dir``, same names; one line per failure."""
    from tqdm import tqdm

    from .editor import load
    from .images import IMAGE_SUFFIXES, read_image

    files = sorted(f for f in src.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise GanmutError(f"no photos in {shorten(src.name)} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    editor = load(model, args.device, classifier=args.classifier if args.verbose else None, weights=args.weights)
    code = editor.code(z, emotion, intensity)  # a bad code fails here, before any photo
    out_dir.mkdir(exist_ok=True)
    failed = 0
    for f in tqdm(files, desc="editing", unit="photo", file=sys.stderr, disable=None):
        try:
            out, fmt = _target(str(out_dir / f.name))
            loaded = read_image(f)
            result = editor.edit(loaded.image, z=code, face=args.face)
            for note in loaded.notes + tuple(_save(result.image, out, fmt)):
                tqdm.write(f"note: {f.name}: {note}", file=sys.stderr)
            if args.verbose:
                tqdm.write(f"{f.name}:")
                _print_readings(editor, result)
        except GanmutError as e:
            failed += 1
            tqdm.write(f"error: {f.name}: {e}", file=sys.stderr)
    print(f"edited {len(files) - failed} of {len(files)} photos into {out_dir}" + (f"; {failed} failed" if failed else ""))
    return 1 if failed else 0


def _animate(args: argparse.Namespace) -> int:
    from . import animate
    from .editor import load
    from .images import read_image

    out = Path(args.output)
    if not out.parent.is_dir():
        raise GanmutError(f"folder {out.parent} does not exist")
    if out.suffix.lower() not in animate.FORMATS:
        raise GanmutError(f"cannot write an animation as {shorten(out.suffix or out.name)}; use .gif or .mp4")
    if not 64 <= args.side <= 1024:
        raise GanmutError(f"--side must lie in 64..1024, got {args.side}")
    check_output(out, args.input)
    loaded = read_image(args.input)
    editor = load(args.model or "linear", args.device, classifier=None, weights=args.weights)
    codes = animate.path_codes(editor.space, "tour" if args.tour else "ramp", args.emotion)
    frames = animate.frames(editor, loaded.image, codes, args.face, args.side)
    animate.write(frames, out)
    print(f"wrote {args.output}: {len(frames)} frames of {frames[0].width}x{frames[0].height} px")
    _notes(loaded.notes)
    return 0


def _bars():
    """A progress callback ``(stage, done, total)`` drawing one tqdm bar a stage on stderr."""
    from tqdm import tqdm

    bars: dict = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="frame", file=sys.stderr, disable=None)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return progress


def _video(args: argparse.Namespace) -> int:
    from . import video
    from .editor import load

    out = check_output(video.output_path(args.output), args.input)
    if args.path is None:
        z, emotion, intensity = _code(args)
    else:
        z, emotion, intensity = None, None, 1.0 if args.intensity is None else args.intensity
    tracking = video.Tracking(args.detect_every, args.smooth)
    video.inspect(args.input)  # a bad clip fails before the model loads
    editor = load(args.model or "linear", args.device, classifier=None, weights=args.weights)
    report = video.edit_video(editor, args.input, out, z, emotion, intensity, args.path, tracking=tracking, progress=_bars())
    sound = "sound kept" if report.audio else "no sound"
    print(f"wrote {args.output}: {report.frames} frames of {report.size[0]}x{report.size[1]} px at {report.fps:.3g} fps, "
          f"the face edited in {report.edited}; {sound}")
    _notes(report.notes)
    return 0


def _presets(args: argparse.Namespace) -> int:
    from .presets import PresetStore, check_name

    store = PresetStore(args.file)
    if args.action == "list":
        presets = store.list()
        for name, p in presets.items():
            print(f"{name}: {p.model} ({', '.join(f'{v:+.3f}' for v in p.z)})")
        if not presets:
            print(f"no presets saved in {store.path}")
        return 0
    if args.name is None:
        raise GanmutError(f"presets {args.action} needs a NAME")
    if args.action == "delete":
        store.delete(args.name)
        print(f"deleted {args.name}")
        return 0
    from .checkpoint import load_checkpoint
    from .weights import model_path

    check_name(args.name)
    z, emotion, intensity = _code(args)
    if z is None and emotion is None:
        raise CodeError("presets save needs --xy, --polar or --emotion")
    space = load_checkpoint(model_path(args.model, args.weights)).space
    if emotion is not None:
        z = tuple(float(v) for v in space.code(emotion, intensity).tolist())
    elif not space.contains(z):
        raise CodeError(f"({', '.join(f'{v:g}' for v in z)}) lies outside the {space.kind} space")
    preset = store.save(args.name, args.model, z)
    print(f"saved {args.name}: {preset.model} ({', '.join(f'{v:+.3f}' for v in preset.z)}) in {store.path}")
    return 0


def _grid(args: argparse.Namespace) -> int:
    from .editor import load
    from .images import read_image

    out, fmt = _target(args.output)
    check_output(out, args.input)
    loaded = read_image(args.input)
    editor = load(args.model or "linear", args.device, weights=args.weights)
    _save(editor.grid(loaded.image, rings=args.rings, n_directions=args.directions, face=args.face), out, fmt)
    print(f"wrote {args.output}")
    _notes(loaded.notes)
    return 0


def describe(model: str, weights: str | None = None) -> dict:
    """A JSON-friendly description of a checkpoint (no face detector is loaded); ``weights`` as in
    :func:`ganmut.weights.model_path`."""
    from .checkpoint import load_checkpoint
    from .weights import model_path

    path = model_path(model, weights)
    m = load_checkpoint(path)
    return {
        "file": str(path),
        "parametrization": m.parametrization,
        "emotions": list(EMOTIONS),
        "space": m.space.describe(),
        "generator": m.config.to_dict(),
        "template": m.template,
        "training": m.meta.get("training", {}),
        "evaluation": m.meta.get("evaluation", {}),
    }


def _info(args: argparse.Namespace) -> int:
    d = describe(args.model, args.weights)
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    print(f"model:           {d['file']}")
    print(f"parametrization: {d['parametrization']}")
    print(f"emotions:        {', '.join(d['emotions'])}")
    print("generator:       " + ", ".join(f"{k}={v}" for k, v in d["generator"].items()))
    print("space:")
    for name, v in d["space"].items():
        print(f"  {name:9s} " + (json.dumps(v) if isinstance(v, dict) else str(v)))
    for key in ("training", "evaluation"):
        if d[key]:
            print(f"{key}:")
            for k, v in d[key].items():
                print(f"  {k}: {json.dumps(v)}")
    return 0


COMMANDS = {"edit": _edit, "grid": _grid, "animate": _animate, "video": _video, "info": _info, "presets": _presets}
"""Each command's function, by the command's name."""
