"""A video clip, uploaded or recorded with the webcam: the face of every frame edited to the current
point, from neutral to the chosen emotion, or on a tour of every emotion, the sound kept
(:func:`ganmut.video.edit_video`). The clip is checked when it arrives; the edit runs with a
progress bar, one clip at a time on the server (:func:`edit_clip`), and the MP4 shows and downloads."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

import ganmut
from ganmut.errors import VideoError, number, shorten
from ganmut.video import Progress, VideoLimits, VideoReport, find_face, inspect

from .context import GanmutApp
from .events import Wiring, inform, warn
from .server import MAX_UPLOAD_BYTES
from .ui_photo import payload_path

PATHS = [("the current point", "point"), ("neutral → the chosen emotion", "neutral-to"),
         ("tour of every emotion", "tour")]
"""The choices of the clip's path (label, value)."""
LIMITS = VideoLimits(max_bytes=MAX_UPLOAD_BYTES)
"""What a clip may be in the app: the library's limits, and no larger than an upload may be."""
BITS_PER_PIXEL = 0.25
"""What an edited frame may take in the MP4 (H.264 at CRF 18 takes about 0.1 to 0.2 bits a pixel)."""
BUSY = "another clip is being edited on this server; one is edited at a time: try again in a minute"
ABOUT = (f"Up to {LIMITS.max_seconds:g} s, {LIMITS.max_side} px on the longest side and "
         f"{LIMITS.max_bytes / 1e6:g} MB; the largest face is followed and edited in every frame, the sound kept.")


def layout() -> dict[str, Any]:
    """The clip, the path its face follows, the button and the edited clip."""
    gr.Markdown(f"<small>{ABOUT}</small>", elem_id="clip-about")
    with gr.Row():
        clip = gr.Video(label="Your clip", sources=["upload", "webcam"], height=240, elem_id="clip")
        clip_out = gr.Video(label="Edited clip (MP4)", interactive=False, buttons=["download"], height=240,
                            elem_id="clip-out")
    with gr.Row():
        clip_path = gr.Radio(PATHS, value="point", show_label=False, elem_id="clip-path", scale=3)
        clip_btn = gr.Button("Edit the clip", elem_id="clip-btn", scale=1)
    clip_status = gr.Markdown("", elem_id="clip-status")
    return {"clip": clip, "clip_out": clip_out, "clip_path": clip_path, "clip_btn": clip_btn,
            "clip_status": clip_status}


def describe(path: str) -> str:
    """A clip's length, size, frame rate and sound, in one line, and notes on how it is read (toasts);
    VideoError for a clip past a limit or one that cannot be read."""
    clip, fps, notes = inspect(path, LIMITS)
    length = f"{clip.seconds:.1f} s" if clip.seconds else "length not in its header"
    sound = "with sound" if clip.audio else "no sound"
    return f"Clip: {length}, {clip.width}×{clip.height} px, {fps:.3g} fps, {sound}." + inform(notes)


def clip_target(spec: str, intensity: float, z: tuple[float, ...] | None = None) -> dict[str, Any]:
    """What a clip's faces are edited to, as :func:`ganmut.video.edit_video` takes it: the point ``z``,
    else ``spec``: an emotion's name at ``intensity``, ``"neutral-to:EMOTION"`` ending at it, or ``"tour"``."""
    spec = spec.strip()
    if z is not None:
        return {"z": z}
    if spec == "tour":
        return {"path": spec}
    if spec.startswith("neutral-to:"):
        return {"path": spec, "intensity": intensity}
    return {"emotion": spec, "intensity": intensity}


def room_for(src: str) -> int:
    """Bytes reserved in the temporary folder for the edit of a clip: its MP4 at
    :data:`BITS_PER_PIXEL` for as long as the clip says it is (the longest clip accepted when its
    header does not say), at least twice the clip's bytes, plus 5 MB; VideoError for a clip that
    cannot be read or is past a limit."""
    clip, fps, _ = inspect(src, LIMITS)
    seconds = clip.seconds or LIMITS.max_seconds
    frames = clip.width * clip.height * fps * seconds
    return int(max(frames * BITS_PER_PIXEL / 8, 2 * Path(src).stat().st_size)) + 5_000_000


def edit_clip(app: GanmutApp, kind: str, src: str, out: Path, target: dict[str, Any], progress: Progress | None = None,
              wait: bool = True) -> VideoReport:
    """Edit the clip ``src`` into ``out`` within the app's limits (:data:`LIMITS`), one clip at a time
    on the server (``wait``: for the one being edited, else GanmutError :data:`BUSY`), with room
    reserved in the temporary folder and ``src`` kept from its sweeps. A user's error, and a file
    that went away meanwhile (a closed tab), are one line of GanmutError. Callers run it on an API
    worker (``app.api_pool``, lower CPU priority), so that wheel clicks get the CPU first. A clip without
    a face in its first key frames is refused before the slot is taken (:func:`ganmut.video.find_face`)."""
    room = room_for(src)  # a missing, odd or too large clip fails here, before anything is held
    find_face(app.models.editor(kind).detector, src, LIMITS)  # and one without a face in a few seconds
    if not app.clips.acquire(blocking=wait):
        raise ganmut.GanmutError(BUSY)
    try:
        with app.sessions.room(room, reading=[src]):
            return app.models.video(kind, src, str(out), {**target, "limits": LIMITS}, progress)
    except OSError as e:
        raise VideoError(f"the clip could not be edited ({e.strerror or type(e).__name__})") from None
    finally:
        app.clips.release()


def summary(report: VideoReport) -> str:
    """The status line of an edited clip."""
    sound = "the sound kept" if report.audio else "no sound"
    return (f"Edited {report.edited} of {report.frames} frames ({report.seconds:.1f} s, {report.size[0]}×"
            f"{report.size[1]} px at {report.fps:.3g} fps), {sound}." + inform(report.notes))


def on_clip(app: GanmutApp, payload: Any, kind: str, session: gr.Request | None = None) -> dict[str, Any]:
    """A new clip (or a cleared one): checked at once (its header, and a face in its first key frames,
    :func:`ganmut.video.find_face`), kept from the temporary folder's sweeps until the tab closes
    (:meth:`~webapp.sessions.Sessions.hold`), and the last edited clip cleared."""
    path = payload_path(payload)
    app.sessions.hold(session, "clip", path)
    if path is None:
        return {"clip_out": None, "clip_status": ""}
    try:
        status = describe(path)
        find_face(app.models.editor(kind).detector, path, LIMITS)
        return {"clip_out": None, "clip_status": status}
    except ganmut.GanmutError as e:
        return {"clip_out": None, "clip_status": warn(e)}


def on_edit_clip(app: GanmutApp, payload: Any, kind: str, point: list | None, emotion: str, intensity: float,
                 clip_path: str, session: gr.Request | None = None,
                 progress: gr.Progress = gr.Progress()) -> dict[str, Any]:
    """Edit the clip's faces along the chosen path (a progress bar while it runs); the MP4 replaces the
    session's last one, in the session's folder (deleted when the tab closes)."""
    path = payload_path(payload)
    if path is None:
        return {"clip_out": None, "clip_status": warn(VideoError("upload or record a clip first"))}
    stages = {"tracking": "Following the face", "editing": "Editing the frames"}
    out = app.sessions.session_file(session, "ganmut-clip-", ".mp4")
    try:
        if clip_path not in dict(PATHS).values():
            raise ganmut.GanmutError(f"unknown path {shorten(clip_path)}; use one of: {', '.join(v for _, v in PATHS)}")
        spec = {"point": emotion, "neutral-to": f"neutral-to:{emotion}", "tour": "tour"}[clip_path]
        z = tuple(point) if clip_path == "point" and point else None
        report = app.api_pool.run(edit_clip, app, kind, path, out, clip_target(str(spec), number(intensity, "intensity"), z),
                                  lambda stage, done, total: progress((done, total), desc=stages[stage], unit="frames"))
    except (ganmut.GanmutError, ValueError) as e:
        app.sessions.discard([out])
        return {"clip_out": None, "clip_status": warn(e)}
    return {"clip_out": str(out), "clip_status": summary(report)}


def wire(w: Wiring) -> None:
    w.on(w["clip"].change, on_clip, ("clip", "model"), ("clip_out", "clip_status"), preprocess=False)
    w.on(w["clip_btn"].click, on_edit_clip, ("clip", "model", "point", "emotion", "intensity", "clip_path"),
         ("clip_out", "clip_status"), preprocess=False, concurrency_id="video", concurrency_limit=1)
