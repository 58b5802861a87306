"""Command line: ``python -m ganmut edit|grid|animate|video|info|presets``.

Every user error (unreadable image, no face, unknown emotion, code outside the space, bad model
file, unwritable output) prints one line ``error: ...`` on stderr and exits with status 2. How the
input was read (reduced in size, first frame of several) and how the output was written (CMYK as
RGB) is said in ``note: ...`` lines on stderr after a success. The output is checked before any
work and written through a temporary file, so a failed run never leaves a half-written image.
``edit DIR -o OUTDIR`` edits every photo of a folder with a progress bar; a photo that fails is
reported in one line and the rest go on (exit status 1 if any failed). A model's name is looked up
in ``--weights``, which defaults to ``$GANMUT_WEIGHTS`` (as the app reads it), else the bundled weights/.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from .editor import MAX_DIRECTIONS, MAX_RINGS
from .video import Tracking, VideoLimits
from .emotions import EMOTIONS
from .errors import CodeError, GanmutError, shorten
from .files import atomic_path, check_output

EPILOG_EDIT = """\
codes:
  --emotion NAME [--intensity R]  the straight path from neutral (R=0) to the emotion (R=1)
  --xy X,Y                        a point of the space (linear: the unit disc; Gaussian: [-1,1]^2)
  --polar THETA,RHO               THETA in degrees, counter-clockwise from the +x axis; RHO the
                                  radius: (x, y) = RHO * (cos THETA, sin THETA)
  --preset NAME                   a point saved with `python -m ganmut presets save` (and its model)
  --like REF                      the point the emotion classifier reads on REF's face (match a
                                  reference expression; the bundled classifier, or --classifier)
  --neutral                       back to neutral: the space's neutral anchor (linear: the origin)
  emotions: {emotions}

examples:
  python -m ganmut edit me.jpg -o happy.jpg --emotion happy --intensity 0.8
  python -m ganmut edit me.jpg -o out.png --model gaussian --xy -0.4,0.7
  python -m ganmut edit group.jpg -o out.jpg --polar 120,1 --face all
  python -m ganmut edit me.jpg -o out.jpg --model my-model.safetensors --emotion surprise
  python -m ganmut edit photos/ -o edited/ --emotion sad --intensity 0.7      every photo of a folder
  python -m ganmut edit me.jpg -o out.jpg --preset wistful
  python -m ganmut edit me.jpg -o out.jpg --like smiling-friend.jpg
  python -m ganmut edit me.jpg -o calm.jpg --neutral
"""

EPILOG_ANIMATE = """\
The frames are the face window of the edited photo: --emotion ramps from neutral to the emotion and
back; --tour goes round every emotion's anchor. MP4 is H.264 (ffmpeg ships in imageio-ffmpeg).

examples:
  python -m ganmut animate me.jpg -o me-happy.gif --emotion happy
  python -m ganmut animate me.jpg -o tour.mp4 --tour --model gaussian
"""

EPILOG_VIDEO = """\
The face is found by MTCNN every --detect-every frames and tracked between them; its alignment is
smoothed over --smooth seconds so the edited face does not jitter. One face is edited (the largest);
frames without a face are kept as they are, and a note counts them. The sound is kept (AAC).
Limits: {seconds:g} s, {side} px on the longest side, {mb:g} MB; above {fps:g} fps a clip is resampled.
A phone's rotation is applied; a variable frame rate is resampled to its average.

targets:
  --emotion NAME [--intensity R]  every frame to one point (also --xy X,Y, --polar THETA,RHO, --neutral)
  --path neutral-to:NAME          from neutral at the first frame to NAME (at --intensity) at the last
  --path tour                     round every emotion's anchor, from the first frame to the last

examples:
  python -m ganmut video clip.mp4 -o happy.mp4 --emotion happy --intensity 0.8
  python -m ganmut video clip.mp4 -o out.mp4 --model gaussian --xy -0.4,0.7
  python -m ganmut video clip.mp4 -o smile.mp4 --path neutral-to:happy
  python -m ganmut video clip.mp4 -o tour.mp4 --path tour
"""

EPILOG_PRESETS = """\
Presets are kept in $GANMUT_PRESETS or ~/.config/ganmut/presets.json (--file overrides both).

examples:
  python -m ganmut presets save wistful --xy -0.35,0.5 --model gaussian
  python -m ganmut presets save half-happy --emotion happy --intensity 0.5
  python -m ganmut presets list
  python -m ganmut presets delete wistful
"""

EPILOG_GRID = """\
The wheel shows the aligned input crop in the centre and one edited crop per code: for a linear
model, N_DIRECTIONS angles on circles of radius RINGS; for a Gaussian model, the same angles on
squares of half-side RINGS in [-1,1]^2. Each tile is marked with the code's dominant emotion.
At most {max_rings} rings of {max_directions} directions.

examples:
  python -m ganmut grid me.jpg -o wheel.png
  python -m ganmut grid me.jpg -o wheel.png --model gaussian --rings 0.33,0.66,1 --directions 16
"""

EPILOG_INFO = """\
examples:
  python -m ganmut info                       the bundled linear model
  python -m ganmut info my-model.safetensors --json
"""


def _floats(text: str, n: int, what: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != n:
        raise argparse.ArgumentTypeError(f"{what} must be {n} comma-separated numbers, got {shorten(text)}")
    return vals


def _xy(text: str) -> tuple[float, ...]:
    return _floats(text, 2, "--xy")


def _polar(text: str) -> tuple[float, ...]:
    return _floats(text, 2, "--polar")


def _floatlist(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {shorten(text)}") from None


def _face(text: str) -> int | str:
    from .face import face_choice

    try:
        return face_choice(text)
    except GanmutError as e:
        raise argparse.ArgumentTypeError(f"--{e}") from None


def _weights(p: argparse.ArgumentParser, model: str = "--model") -> None:
    p.add_argument("--weights", metavar="WHERE", default=os.environ.get("GANMUT_WEIGHTS") or None,
                   help=f"where {model}'s name is looked up: a folder, a 'LINEAR,GAUSSIAN' file pair or a Hugging Face Hub "
                        "repo id (default: $GANMUT_WEIGHTS, as the app takes it, else the bundled weights/)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN", help="input photo (JPEG, PNG, WebP, HEIC, ...; EXIF orientation is applied; "
                                              "over 40 megapixels it is edited at a reduced size)")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="output image; the format follows the extension (CMYK is written as RGB where the format cannot store it)")
    p.add_argument("--model", default=None, help="'linear' (default; or 'GANmut'), 'gaussian' (or 'GGANmut') or a .safetensors checkpoint path")
    _weights(p)
    p.add_argument("--device", default=None, help="torch device, e.g. cpu, cuda, mps (default: CUDA, then MPS, then CPU)")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m ganmut", formatter_class=fmt,
        description="Edit the facial expression of a photo to any point of GANmut's learned 2-D emotion space.",
        epilog="Run `python -m ganmut COMMAND --help` for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    edit = sub.add_parser("edit", help="edit the expression of one face (or all faces) of a photo",
                          formatter_class=fmt, epilog=EPILOG_EDIT.format(emotions=", ".join(EMOTIONS)),
                          description="Edit the expression of a face and paste it back into the full photo.")
    _common(edit)
    code = edit.add_mutually_exclusive_group(required=True)
    code.add_argument("--emotion", metavar="NAME", help="target emotion: " + ", ".join(EMOTIONS))
    code.add_argument("--xy", metavar="X,Y", type=_xy, help="target code in the space's coordinates")
    code.add_argument("--polar", metavar="THETA,RHO", type=_polar, help="target code in polar form, THETA in degrees")
    code.add_argument("--preset", metavar="NAME", help="a saved point (python -m ganmut presets); its model unless --model is given")
    code.add_argument("--like", metavar="REF", help="match a reference photo: the point the emotion classifier reads on its face")
    code.add_argument("--neutral", dest="emotion", action="store_const", const="neutral",
                      help="back to neutral: the neutral anchor (linear: the origin), identity kept")
    edit.add_argument("--intensity", metavar="R", type=float, default=None, help="with --emotion: 0 (neutral) to 1 (full; default)")
    edit.add_argument("--presets-file", metavar="FILE", default=None, help="presets file for --preset (default: see `presets --help`)")
    edit.add_argument("--face", type=_face, default=0, metavar="N|all", help="face number, 0 = largest (default), or 'all'")
    edit.add_argument("-v", "--verbose", action="store_true",
                      help="also print what the emotion classifier reads on each face before and after the edit")
    edit.add_argument("--classifier", metavar="FILE", default="auto",
                      help="classifier for --verbose and --like (default: the bundled weights/fer-classifier.safetensors)")

    grid = sub.add_parser("grid", help="draw the wheel of expressions of one face", formatter_class=fmt,
                          epilog=EPILOG_GRID.format(max_rings=MAX_RINGS, max_directions=MAX_DIRECTIONS),
                          description="Draw the gamut of expressions of one face as a wheel.")
    _common(grid)
    grid.add_argument("--face", type=_face, default=0, metavar="N", help="face number, 0 = largest (default)")
    grid.add_argument("--rings", type=_floatlist, default=(0.5, 1.0), metavar="R1,R2,...", help="ring radii in (0, 1] (default 0.5,1)")
    grid.add_argument("--directions", type=int, default=12, metavar="N", help=f"codes per ring, 1 to {MAX_DIRECTIONS} (default 12)")

    animate = sub.add_parser("animate", help="a GIF or MP4 of one face moving through the space", formatter_class=fmt,
                             epilog=EPILOG_ANIMATE, description="Animate one face: neutral to an emotion and back, or a tour.")
    _common(animate)
    path = animate.add_mutually_exclusive_group()
    path.add_argument("--emotion", metavar="NAME", default="happy", help="ramp from neutral to this emotion and back (default happy)")
    path.add_argument("--tour", action="store_true", help="go round every emotion instead")
    animate.add_argument("--face", type=_face, default=0, metavar="N|all", help="face number, 0 = largest (default), or 'all'")
    animate.add_argument("--side", type=int, default=320, metavar="PX", help="longest side of a frame, 64 to 1024 (default 320)")

    lim = VideoLimits()
    clip = sub.add_parser("video", help="edit the face of every frame of a short clip (MP4, sound kept)", formatter_class=fmt,
                          epilog=EPILOG_VIDEO.format(seconds=lim.max_seconds, side=lim.max_side, mb=lim.max_bytes / 1e6, fps=lim.max_fps),
                          description="Edit the face of every frame of a clip to a point of the space, or along a path.")
    _common(clip)
    _reword(clip, input="input clip (MP4, MOV, WebM, ...; see the limits below)", output="output clip, .mp4 (H.264; AAC sound)")
    target = clip.add_mutually_exclusive_group(required=True)
    target.add_argument("--emotion", metavar="NAME", help="every frame to this emotion: " + ", ".join(EMOTIONS))
    target.add_argument("--xy", metavar="X,Y", type=_xy, help="every frame to this point of the space")
    target.add_argument("--polar", metavar="THETA,RHO", type=_polar, help="every frame to this point in polar form, THETA in degrees")
    target.add_argument("--neutral", dest="emotion", action="store_const", const="neutral", help="every frame back to neutral")
    target.add_argument("--path", metavar="PATH", help="neutral-to:EMOTION or tour, from the first frame to the last")
    clip.add_argument("--intensity", metavar="R", type=float, default=None,
                      help="with --emotion or --path neutral-to:EMOTION: 0 (neutral) to 1 (full; default)")
    clip.add_argument("--detect-every", metavar="N", type=int, default=Tracking.detect_every,
                      help=f"search the whole frame every N frames, track between (default {Tracking.detect_every})")
    clip.add_argument("--smooth", metavar="SECONDS", type=float, default=Tracking.smooth_seconds,
                      help=f"smooth the face's alignment over time, 0 for off (default {Tracking.smooth_seconds:g})")

    presets = sub.add_parser("presets", help="save, list and delete named points of the space", formatter_class=fmt,
                             epilog=EPILOG_PRESETS, description="Named points of the emotion space, to apply to other photos.")
    presets.add_argument("action", choices=("list", "save", "delete"))
    presets.add_argument("name", nargs="?", help="the preset's name (save, delete)")
    where = presets.add_mutually_exclusive_group()
    where.add_argument("--emotion", metavar="NAME", help="save: an emotion (with --intensity)")
    where.add_argument("--xy", metavar="X,Y", type=_xy, help="save: a point of the space")
    where.add_argument("--polar", metavar="THETA,RHO", type=_polar, help="save: a point in polar form, THETA in degrees")
    presets.add_argument("--intensity", metavar="R", type=float, default=None, help="save, with --emotion: 0 to 1 (default 1)")
    presets.add_argument("--model", default="linear", help="save: the model the point belongs to (default linear)")
    _weights(presets)
    presets.add_argument("--file", metavar="FILE", default=None, help="the presets file")

    info = sub.add_parser("info", help="describe a model: emotions, learned directions or modes, metadata",
                          formatter_class=fmt, epilog=EPILOG_INFO, description="Describe a model checkpoint.")
    info.add_argument("model", nargs="?", default="linear", metavar="MODEL", help="'linear' (default), 'gaussian' or a checkpoint path")
    _weights(info, "MODEL")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    return parser


def _reword(p: argparse.ArgumentParser, **helps: str) -> None:
    """Give the arguments ``_common`` added the help of another command (a clip, not a photo)."""
    for action in p._actions:
        if action.dest in helps:
            action.help = helps[action.dest]


def _join_negative_values(argv: list[str]) -> list[str]:
    """Let ``--xy -0.5,0.2`` through: argparse would take the value for an option."""
    out: list[str] = []
    it = iter(argv)
    for tok in it:
        if tok in ("--xy", "--polar"):  # in `edit` and `presets save`
            nxt = next(it, None)
            out.append(tok if nxt is None else f"{tok}={nxt}")
        else:
            out.append(tok)
    return out


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        commands = {"edit": _edit, "grid": _grid, "animate": _animate, "video": _video, "info": _info, "presets": _presets}
        return commands[args.command](args)
    except GanmutError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
