"""Video in the app: the page's clip part in process (its handlers, as Gradio calls them) and the
``/video`` endpoint over HTTP with gradio_client; real clips made from a real photo (tests/clips.py),
real MTCNN, tiny untrained checkpoints; the outputs read back by imageio-ffmpeg's own reader."""
from __future__ import annotations

import os

import numpy as np
import pytest

from tests.clips import PHOTOS_OBAMA, decode, face_frames, ffmpeg as run_ffmpeg, write_clip
from tests.webapp.test_app import make_app, upload
from webapp import api, ui_gamut, ui_video
from webapp.sessions import session_key


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """1 s at 12 fps of photos/obama.jpg panned a little, with a sine tone."""
    return write_clip(tmp_path_factory.mktemp("clips") / "moving.mp4", face_frames(PHOTOS_OBAMA, 12))


@pytest.fixture(scope="module")
def app(linear_ckpt, gaussian_ckpt):
    return make_app(f"{linear_ckpt},{gaussian_ckpt}")


class Request:
    """What a handler reads of gr.Request: the session's hash."""

    def __init__(self, session_hash: str) -> None:
        self.session_hash = session_hash


def edit(app, clip, path="point", point=None, emotion="happy", intensity=1.0, session=None):
    return ui_video.on_edit_clip(app, {"path": str(clip)}, "linear", point, emotion, intensity, path, session,
                                 progress=lambda *a, **k: None)


def test_a_clip_is_checked_when_it_arrives(app, clip, tmp_path):
    out = ui_video.on_clip(app, {"path": str(clip)}, "linear")
    assert out["clip_out"] is None
    assert out["clip_status"].startswith("Clip: 1.0 s, 320×240 px, 12 fps, with sound")
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    status = ui_video.on_clip(app, {"path": str(bad)}, "linear")["clip_status"]
    assert status.startswith("⚠️ notes.mp4 is not a video ffmpeg can read") and "\n" not in status
    assert ui_video.on_clip(app, None, "linear") == {"clip_out": None, "clip_status": ""}


@pytest.mark.parametrize("path", ["point", "neutral-to", "tour"])
def test_the_page_edits_every_frame_and_keeps_the_sound(app, clip, path):
    out = edit(app, clip, path, point=[0.5, 0.2], session=Request(f"video-{path}"))
    assert out["clip_status"].startswith("Edited 12 of 12 frames (1.0 s, 320×240 px at 12 fps), the sound kept")
    frames, meta = decode(out["clip_out"])
    original, _ = decode(clip)
    assert len(frames) == 12 and meta["audio_codec"] is not None
    assert all(np.abs(a.astype(int) - b).mean() > 0.2 for a, b in zip(frames, original))


def test_a_webcam_recording_is_edited(app, clip, tmp_path):
    """What a browser's webcam recorder makes: WebM (VP8 and Opus) muxed live, with no length in its header."""
    webm = tmp_path / "webcam.webm"
    run_ffmpeg("-i", str(clip), "-c:v", "libvpx", "-c:a", "libopus", "-live", "1", "-f", "webm", str(webm))
    assert ui_video.on_clip(app, {"path": str(webm)}, "linear")["clip_status"].startswith("Clip: length not in its header")
    out = edit(app, webm, session=Request("video-webcam"))
    assert out["clip_status"].startswith("Edited 12 of 12 frames"), out
    frames, meta = decode(out["clip_out"])
    assert len(frames) == 12 and meta["audio_codec"] is not None


@pytest.mark.slow
def test_the_page_s_clip_and_animation_are_kept_side_by_side(app, clip):
    """A session keeps one file of each kind: a new clip replaces its last clip, never its animation."""
    who = Request("video-and-animation")
    key = upload(app, PHOTOS_OBAMA)["photo_key"]
    anim = ui_gamut.on_animate(app, key, "linear", "0", "happy", "ramp", who)
    first = edit(app, clip, session=who)["clip_out"]
    second = edit(app, clip, "tour", session=who)["clip_out"]
    mp4 = anim["anim_mp4"].value["path"] if isinstance(anim["anim_mp4"].value, dict) else anim["anim_mp4"].value
    assert all(p.endswith(".mp4") for p in (first, second, mp4))
    assert not os.path.exists(first)  # the session's last clip, replaced
    for kept in (second, mp4, anim["anim"]):
        assert os.path.getsize(kept) > 0


def test_bad_clips_and_values_get_one_line_and_leave_no_file(app, clip, tmp_path):
    who = Request("video-bad")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(clip.read_bytes()[:2000])
    cases = [({"path": str(bad)}, "point", 1.0, "broken.mp4"), (None, "point", 1.0, "upload or record a clip first"),
             ({"path": str(clip)}, "sideways", 1.0, "unknown path 'sideways'"),
             ({"path": str(clip)}, "neutral-to", "lots", "intensity must be a number"),
             ({"path": str(clip)}, "neutral-to", 1.5, "intensity")]
    for payload, path, intensity, says in cases:
        out = ui_video.on_edit_clip(app, payload, "linear", None, "happy", intensity, path, who,
                                    progress=lambda *a, **k: None)
        assert out["clip_out"] is None and out["clip_status"].startswith("⚠️") and says in out["clip_status"], out
        assert "\n" not in out["clip_status"] and "Traceback" not in out["clip_status"]
    assert not list((app.sessions.sessions_dir / session_key(who)).glob("ganmut-clip-*")), "a failed clip left a file"


@pytest.mark.slow
def test_the_page_and_the_api_refuse_an_image_alike_and_note_a_cut_clip(app, tmp_path):
    """A photo named .mp4 and an animated GIF are refused by the page and by /video in the same one line;
    a clip cut short is edited as far as it reads, its status saying how far."""
    import gradio as gr
    from PIL import Image

    still = tmp_path / "photo.mp4"
    still.write_bytes(PHOTOS_OBAMA.read_bytes())
    frame = Image.fromarray(face_frames(PHOTOS_OBAMA, 1)[0])
    gif = tmp_path / "animated.gif"
    frame.save(gif, save_all=True, append_images=[frame.rotate(5)], duration=100, loop=0)
    for path, kind in ((still, "a JPEG image"), (gif, "a GIF image")):
        line = f"{path.name} is {kind}, not a video clip; give a clip (MP4, MOV, WebM, ...)"
        assert ui_video.on_clip(app, {"path": str(path)}, "linear")["clip_status"] == f"⚠️ {line}"
        with pytest.raises(gr.Error) as e:
            api.video(app, {"path": str(path)}, "happy", 1.0, "linear")
        assert e.value.message == line
    whole = write_clip(tmp_path / "five.mp4", face_frames(PHOTOS_OBAMA, 60))
    fast = tmp_path / "fast.mp4"
    run_ffmpeg("-i", str(whole), "-c", "copy", "-movflags", "+faststart", str(fast))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(fast.read_bytes()[:fast.stat().st_size * 3 // 10])
    status = edit(app, cut, session=Request("video-cut"))["clip_status"]
    assert "ℹ️ cut.mp4 ends early: " in status and "of the 60 frames its header promises could be read" in status


def test_a_clip_that_does_not_fit_in_the_temporary_folder_is_refused(app, clip, monkeypatch):
    asked = []
    monkeypatch.setattr(app.sessions.temp, "admit", lambda size: asked.append(size) and False)
    out = edit(app, clip, session=Request("video-full"))
    assert out["clip_out"] is None and "temporary storage is full" in out["clip_status"]
    # the room asked for: the MP4 at 0.25 bits a pixel of 12 frames of 320x240 (under 2x the clip) + 5 MB
    assert asked == [2 * clip.stat().st_size + 5_000_000]
    assert ui_video.room_for(str(clip)) == asked[0]


@pytest.mark.slow
def test_a_clip_without_a_face_is_answered_in_seconds_before_the_slot(app, tmp_path):
    """A 20-s 1080p clip without a face: one line in under 5 s when it arrives, when the page edits it and
    when the API does, even while another clip holds the one slot (the check comes before it)."""
    import time

    import gradio as gr
    import skimage.data
    from PIL import Image

    from webapp import api

    still = tmp_path / "cat.png"
    Image.fromarray(skimage.data.chelsea()).save(still)
    cat = tmp_path / "cat.mp4"
    run_ffmpeg("-loop", "1", "-i", str(still), "-t", "20", "-r", "30", "-vf", "scale=1920:1080", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(cat))
    says = "no face found in cat.mp4: none in the first "
    t = time.monotonic()
    arrived = ui_video.on_clip(app, {"path": str(cat)}, "linear")["clip_status"]
    assert arrived.startswith("⚠️ " + says) and "\n" not in arrived and time.monotonic() - t < 5, arrived
    t = time.monotonic()
    edited = edit(app, cat, session=Request("video-cat"))
    assert edited["clip_out"] is None and edited["clip_status"].startswith("⚠️ " + says) and time.monotonic() - t < 5
    with app.clips:  # another clip being edited
        t = time.monotonic()
        with pytest.raises(gr.Error) as e:
            api.video(app, {"path": str(cat)}, "happy", 1.0, "linear", Request("video-cat"))
        assert e.value.message.startswith(says) and time.monotonic() - t < 5, e.value.message


def test_one_clip_at_a_time_and_the_clip_read_is_kept(app, clip, monkeypatch):
    """While a clip is edited, another API call is refused at once in one line (the page's waits its
    turn); the clip being read is kept from the temporary folder's sweeps until the edit ends."""
    import gradio as gr

    from webapp import api

    with app.clips:  # a clip being edited
        with pytest.raises(gr.Error) as e:
            api.video(app, {"path": str(clip)}, "happy", 1.0, "linear", Request("video-busy"))
        assert e.value.message == ui_video.BUSY
    seen = []
    real = app.models.video

    def video(*args, **kwargs):
        seen.append(str(clip) in app.sessions.kept_files())
        return real(*args, **kwargs)

    monkeypatch.setattr(app.models, "video", video)
    out = api.video(app, {"path": str(clip)}, "happy", 1.0, "linear", Request("video-busy"))
    assert out.endswith(".mp4") and len(decode(out)[0]) == 12
    assert seen == [True] and str(clip) not in app.sessions.kept_files()


def test_a_tab_closed_while_its_clip_is_made_gets_one_line(app, clip, monkeypatch):
    """The session's folder deleted under the edit (its tab closed): one line, no traceback."""
    def gone(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(app.models, "video", gone)
    out = edit(app, clip, session=Request("video-closed"))
    assert out["clip_out"] is None
    assert out["clip_status"] == "⚠️ the clip could not be edited (No such file or directory)"


# --------------------------------------------------------------------------- the API
@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False), server


@pytest.mark.slow
def test_video_endpoint_edits_a_clip(client, clip):
    from gradio_client import handle_file

    c, _ = client
    out = c.predict(handle_file(str(clip)), "neutral-to:happy", 1.0, "gaussian", api_name="/video")
    frames, meta = decode(out)
    assert len(frames) == 12 and meta["audio_codec"] is not None and meta["size"] == (320, 240)
    first, _ = decode(clip)
    # the path starts at the neutral anchor and ends at full happiness: the last frame moved more
    assert np.abs(frames[-1].astype(int) - first[-1]).mean() > np.abs(frames[0].astype(int) - first[0]).mean()


@pytest.mark.slow
def test_video_endpoint_errors_are_one_line_and_the_server_survives(client, clip, tmp_path):
    from gradio_client import handle_file

    c, srv = client
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(clip.read_bytes()[:3000])
    cases = [((handle_file(str(bad)), "happy", 1.0, "linear"), "cut.mp4"),
             ((handle_file(str(clip)), "sideways", 1.0, "linear"), "sideways"),
             ((handle_file(str(clip)), 3, 1.0, "linear"), "target must be a string"),
             ((handle_file(str(clip)), "tour", 1.0, "cubic"), "cubic")]
    for args, says in cases:
        with pytest.raises(Exception) as e:
            c.predict(*args, api_name="/video")
        message = str(e.value)
        assert says in message and "\n" not in message.strip() and "Traceback" not in message, message
    assert c.predict(handle_file(str(clip)), "tour", 1.0, "linear", api_name="/video").endswith(".mp4")
    assert srv.proc.poll() is None, "the server died"
    log = srv.log_tail(100_000)
    assert "user error: cut.mp4" in log and "Traceback" not in log
