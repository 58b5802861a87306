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
import os
import sys

from .commands import COMMANDS
from .editor import MAX_DIRECTIONS, MAX_RINGS
from .video import Tracking, VideoLimits
from .emotions import EMOTIONS
from .errors import GanmutError, shorten

FMT = argparse.RawDescriptionHelpFormatter

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
    """The command line's parser: one sub-command each (their functions are :data:`ganmut.commands.COMMANDS`)."""
    parser = argparse.ArgumentParser(
        prog="python -m ganmut", formatter_class=FMT,
        description="Edit the facial expression of a photo to any point of GANmut's learned 2-D emotion space.",
        epilog="Run `python -m ganmut COMMAND --help` for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_edit, _add_grid, _add_animate, _add_video, _add_presets, _add_info):
        add(sub)
    return parser


def _add_edit(sub: argparse._SubParsersAction) -> None:
    """The arguments of ``edit``: a photo (or a folder of photos) to a point."""
    edit = sub.add_parser("edit", help="edit the expression of one face (or all faces) of a photo",
                          formatter_class=FMT, epilog=EPILOG_EDIT.format(emotions=", ".join(EMOTIONS)),
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


def _add_grid(sub: argparse._SubParsersAction) -> None:
    """The arguments of ``grid``: the wheel of one face."""
    grid = sub.add_parser("grid", help="draw the wheel of expressions of one face", formatter_class=FMT,
                          epilog=EPILOG_GRID.format(max_rings=MAX_RINGS, max_directions=MAX_DIRECTIONS),
                          description="Draw the gamut of expressions of one face as a wheel.")
    _common(grid)
    grid.add_argument("--face", type=_face, default=0, metavar="N", help="face number, 0 = largest (default)")
    grid.add_argument("--rings", type=_floatlist, default=(0.5, 1.0), metavar="R1,R2,...", help="ring radii in (0, 1] (default 0.5,1)")
    grid.add_argument("--directions", type=int, default=12, metavar="N", help=f"codes per ring, 1 to {MAX_DIRECTIONS} (default 12)")


def _add_animate(sub: argparse._SubParsersAction) -> None:
    """The arguments of ``animate``: a GIF or MP4 of one face."""
    animate = sub.add_parser("animate", help="a GIF or MP4 of one face moving through the space", formatter_class=FMT,
                             epilog=EPILOG_ANIMATE, description="Animate one face: neutral to an emotion and back, or a tour.")
    _common(animate)
    path = animate.add_mutually_exclusive_group()
    path.add_argument("--emotion", metavar="NAME", default="happy", help="ramp from neutral to this emotion and back (default happy)")
    path.add_argument("--tour", action="store_true", help="go round every emotion instead")
    animate.add_argument("--face", type=_face, default=0, metavar="N|all", help="face number, 0 = largest (default), or 'all'")
    animate.add_argument("--side", type=int, default=320, metavar="PX", help="longest side of a frame, 64 to 1024 (default 320)")


def _add_video(sub: argparse._SubParsersAction) -> None:
    """The arguments of ``video``: a clip to a point or along a path."""
    lim = VideoLimits()
    clip = sub.add_parser("video", help="edit the face of every frame of a short clip (MP4, sound kept)", formatter_class=FMT,
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


def _add_presets(sub: argparse._SubParsersAction) -> None:
    """The arguments of ``presets``: named points."""
    presets = sub.add_parser("presets", help="save, list and delete named points of the space", formatter_class=FMT,
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


def _add_info(sub: argparse._SubParsersAction) -> None:
    """The arguments of ``info``: a model's description."""
    info = sub.add_parser("info", help="describe a model: emotions, learned directions or modes, metadata",
                          formatter_class=FMT, epilog=EPILOG_INFO, description="Describe a model checkpoint.")
    info.add_argument("model", nargs="?", default="linear", metavar="MODEL", help="'linear' (default), 'gaussian' or a checkpoint path")
    _weights(info, "MODEL")
    info.add_argument("--json", action="store_true", help="print the description as JSON")


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        return COMMANDS[args.command](args)
    except GanmutError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
