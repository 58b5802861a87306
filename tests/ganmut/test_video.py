"""Editing clips end to end: clips made from a real photo (tests/clips.py), real MTCNN, tiny untrained
checkpoints; the outputs read back by imageio-ffmpeg's own reader."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from tests.clips import PHOTOS_OBAMA, decode, face_frames, ffmpeg as run_ffmpeg, write_clip
from tests.helpers import DetectionCounter

from ganmut import video
from ganmut.align import face_to_crop_matrix, paste_region
from ganmut.cli import main
from ganmut.errors import CodeError, GanmutError, NoFaceError, VideoError
from ganmut.video import Tracking, VideoLimits


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def moving(folder):
    """2 s at 12 fps of photos/obama.jpg panned and zoomed a little, with a sine tone: its frames and file."""
    frames = face_frames(PHOTOS_OBAMA, 24)
    return frames, write_clip(folder / "moving.mp4", frames)


@pytest.fixture(scope="module")
def cat_frames():
    return [np.asarray(Image.fromarray(skimage.data.chelsea()).resize((320, 240)))] * 6


def _diffs(editor, frame: np.ndarray, out: np.ndarray) -> tuple[float, float]:
    """Mean change of ``out`` against ``frame`` in the face's paste region, and away from it (a margin
    of an eighth of the region apart: the tracked alignment is not exactly a search of this frame's)."""
    face = editor.detect(frame)[0]
    x0, y0, x1, y1 = paste_region(frame.shape, face_to_crop_matrix(face.landmarks, editor.template, editor.size), editor.size)
    m = (x1 - x0) // 8
    diff = np.abs(out.astype(int) - frame)
    away = np.ones(diff.shape[:2], bool)
    away[max(0, y0 - m):y1 + m, max(0, x0 - m):x1 + m] = False
    return float(diff[y0:y1, x0:x1].mean()), float(diff[away].mean())


def test_every_frame_is_edited_and_the_sound_kept(editor, moving, tmp_path):
    frames, src = moving
    calls = []
    report = video.edit_video(editor, src, tmp_path / "out.mp4", emotion="happy", intensity=0.8,
                              progress=lambda *a: calls.append(a))
    assert (report.frames, report.edited, report.unedited, report.size, report.fps, report.audio, report.notes) == \
        (24, 24, 0, (320, 240), 12.0, True, ())
    out, meta = decode(tmp_path / "out.mp4")
    assert len(out) == 24 and meta["size"] == (320, 240) and meta["audio_codec"] == "aac"
    assert meta["duration"] == pytest.approx(2.0, abs=0.1)
    source, _ = decode(src)
    for i in (0, 11, 23):
        face, away = _diffs(editor, source[i], out[i])
        assert face > 8 and away < 3  # the face edited, the rest changed by H.264's loss only
    assert [c[0] for c in calls] == ["tracking"] * 25 + ["editing"] * 24
    assert calls[24] == ("tracking", 24, 24) and calls[-1] == ("editing", 24, 24)


def _codes_seen(editor, monkeypatch) -> list:
    """The codes the editor's ``edit_each`` is asked for from now on, in order."""
    seen, real = [], editor.edit_each

    def edit_each(images, codes, *args, **kwargs):
        seen.extend(codes)
        return real(images, codes, *args, **kwargs)

    monkeypatch.setattr(editor, "edit_each", edit_each)
    return seen


def test_each_frame_gets_its_code_of_the_path(editor, gaussian_editor, moving, tmp_path, monkeypatch):
    _, src = moving
    for ed, path, intensity in ((editor, "neutral-to:sad", 0.6), (gaussian_editor, "tour", 1.0)):
        seen = _codes_seen(ed, monkeypatch)
        report = video.edit_video(ed, src, tmp_path / "path.mp4", path=path, intensity=intensity)
        assert report.edited == 24 and seen == video.path_codes(ed.space, path, 24, intensity)


def test_path_codes(editor, gaussian_editor):
    ramp = video.path_codes(editor.space, "neutral-to:happy", 5, intensity=0.8)
    assert ramp[0] == pytest.approx((0.0, 0.0)) and ramp[-1] == pytest.approx(tuple(editor.space.code("happy", 0.8).tolist()))
    assert ramp[2] == pytest.approx(tuple(editor.space.code("happy", 0.4).tolist()), abs=1e-6)
    space = gaussian_editor.space
    tour = video.path_codes(space, "tour", 6 * 4 + 1)  # four frames a leg
    anchors = space.anchors().detach().double()[1:]
    at = torch.cdist(torch.tensor(tour[::4], dtype=torch.float64), anchors).argmin(1)
    assert torch.cdist(torch.tensor(tour[::4], dtype=torch.float64), anchors).min(1).values.max() < 1e-6
    assert tour[0] == tour[-1] and len(set(at[:6].tolist())) == 6  # every anchor once, back to the first
    assert video.along([(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)], 5) == [(0, 0), (0.5, 0), (1, 0), (1, 0.5), (1, 1)]
    with pytest.raises(CodeError, match="unknown path 'zigzag'; use one of: neutral-to:EMOTION, tour"):
        video.path_codes(space, "zigzag", 5)
    with pytest.raises(CodeError, match="unknown emotion 'bored'"):
        video.path_codes(space, "neutral-to:bored", 5)


def test_a_rotated_phone_clip_is_edited_upright(editor, moving, folder, tmp_path):
    frames, _ = moving
    sideways = write_clip(folder / "sensor.mp4", [np.rot90(f, -1) for f in frames[:8]], audio=False)
    phone = folder / "phone.mp4"
    run_ffmpeg("-display_rotation", "90", "-i", str(sideways), "-c", "copy", str(phone))
    report = video.edit_video(editor, phone, tmp_path / "upright.mp4", emotion="sad")
    assert report.edited == 8 and report.size == (320, 240) and not report.audio
    assert report.notes == ("phone.mp4 is turned 90° as its metadata asks",)
    out, meta = decode(tmp_path / "upright.mp4")
    assert meta["size"] == (320, 240) and meta["rotate"] == 0
    upright = decode(phone)[0]
    assert upright[4].shape == (240, 320, 3) and np.abs(upright[4].astype(int) - frames[4]).mean() < 4
    face, away = _diffs(editor, upright[4], out[4])
    assert face > 8 and away < 3


def test_frames_without_a_face_are_kept_and_counted(editor, moving, cat_frames, folder, tmp_path):
    frames = moving[0][:6] + cat_frames + moving[0][6:12]
    src = write_clip(folder / "cat-between.mp4", frames)
    report = video.edit_video(editor, src, tmp_path / "out.mp4", z=(0.3, -0.4))
    assert (report.frames, report.edited, report.unedited) == (18, 12, 6)
    assert report.notes == ("6 of 18 frames have no face found and are kept as they are",)
    out, _ = decode(tmp_path / "out.mp4")
    source, _ = decode(src)
    assert all(np.abs(out[i].astype(int) - source[i]).mean() < 3 for i in range(6, 12))  # re-encoded, not edited
    assert all(_diffs(editor, source[i], out[i])[0] > 8 for i in (0, 5, 12, 17))


def test_odd_and_bad_files_get_one_line(editor, moving, cat_frames, folder, tmp_path):
    _, src = moving
    junk = folder / "junk.mp4"
    junk.write_bytes(src.read_bytes()[:4000])  # cut: no index
    sound = folder / "tone.m4a"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(sound))
    cats = write_clip(folder / "cats.mp4", cat_frames, audio=False)
    out = tmp_path / "out.mp4"
    cases = [
        (junk, VideoError, r"^junk\.mp4 is not a video ffmpeg can read \(.+\)$"),
        (sound, VideoError, r"^tone\.m4a has no video stream \(only sound\)$"),
        (folder / "missing.mp4", VideoError, r"^video file not found: missing\.mp4$"),
        (folder, VideoError, r"is a folder, not a file$"),
        (cats, NoFaceError, r"^no face found in any frame of cats\.mp4$"),
    ]
    for path, error, message in cases:
        with pytest.raises(error, match=message):
            video.edit_video(editor, path, out, emotion="happy")
    assert not out.exists()
    with pytest.raises(GanmutError, match=r"a video is written as \.mp4, not '\.avi'"):
        video.edit_video(editor, src, tmp_path / "out.avi", emotion="happy")
    with pytest.raises(CodeError, match="a point .* or a path, not both"):
        video.edit_video(editor, src, out, emotion="happy", path="tour")


def test_an_image_is_not_a_clip_whatever_its_name(editor, folder, tmp_path):
    """A photo renamed .mp4 and an animated GIF: one line each, not a one-frame or a GIF "video"."""
    still = folder / "photo.mp4"
    still.write_bytes(PHOTOS_OBAMA.read_bytes())
    frame = Image.fromarray(face_frames(PHOTOS_OBAMA, 1)[0])
    gif = folder / "animated.gif"
    frame.save(gif, save_all=True, append_images=[frame.rotate(5), frame.rotate(10)], duration=100, loop=0)
    for path, kind in ((still, "a JPEG image"), (gif, "a GIF image")):
        with pytest.raises(VideoError, match=rf"^{path.name} is {kind}, not a video clip; give a clip \(MP4, MOV, WebM, \.\.\.\)$"):
            video.edit_video(editor, path, tmp_path / "out.mp4", emotion="happy")
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.slow
def test_a_clip_cut_short_says_how_much_was_read(editor, folder, tmp_path):
    """A 5-s clip (its index first, as phones write them) cut to 30 % of its bytes: the frames that could
    be read are edited, and a note says how many of those the header promised."""
    whole = write_clip(folder / "five.mp4", face_frames(PHOTOS_OBAMA, 60))
    fast = folder / "five-fast.mp4"
    run_ffmpeg("-i", str(whole), "-c", "copy", "-movflags", "+faststart", str(fast))
    cut = folder / "cut.mp4"
    cut.write_bytes(fast.read_bytes()[:fast.stat().st_size * 3 // 10])
    report = video.edit_video(editor, cut, tmp_path / "out.mp4", emotion="happy")
    assert 0 < report.frames < 30 and len(decode(tmp_path / "out.mp4")[0]) == report.frames
    assert report.notes == (f"cut.mp4 ends early: {report.frames} of the 60 frames its header promises could be read "
                            f"({report.frames / 12:.1f} of 5.0 s); the rest is missing or damaged",)
    assert video.edit_video(editor, whole, tmp_path / "whole.mp4", emotion="happy").notes == ()


def test_limits_and_targets_are_checked_before_decoding(editor, moving, tmp_path, monkeypatch):
    _, src = moving
    size = src.stat().st_size
    monkeypatch.setattr(video.ffmpeg, "frames", lambda *a, **k: pytest.fail("decoded past a limit"))
    cases = [
        ({"limits": VideoLimits(max_seconds=1.5)}, VideoError, r"^moving\.mp4 is 2\.0 s long; at most 1\.5 s are accepted$"),
        ({"limits": VideoLimits(max_side=300)}, VideoError, r"^moving\.mp4 is 320x240 px; the longest side accepted is 300 px$"),
        ({"limits": VideoLimits(max_bytes=size - 1)}, VideoError, r"^moving\.mp4 is 0 MB; at most 0\.\d+ MB are accepted$"),
        ({"emotion": None, "path": "zigzag"}, CodeError, r"^unknown path 'zigzag'"),
        ({"emotion": None, "path": "neutral-to:bored"}, CodeError, r"^unknown emotion 'bored'"),
        ({"emotion": "happy", "intensity": 1.5}, CodeError, r"intensity must be a number in \[0, 1\]"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            video.edit_video(editor, src, tmp_path / "out.mp4", **{"emotion": "happy", **kwargs})
    monkeypatch.undo()
    raw = tmp_path / "moving.h264"  # a bare H.264 stream: its header gives no length
    run_ffmpeg("-i", str(src), "-c:v", "copy", "-bsf:v", "h264_mp4toannexb", "-an", str(raw))
    assert video.ffmpeg.probe(raw).seconds == 0
    with pytest.raises(VideoError, match=r"^moving\.h264 is longer than 0\.5 s, the most accepted$"):
        video.edit_video(editor, raw, tmp_path / "out.mp4", emotion="happy", limits=VideoLimits(max_seconds=0.5))
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.slow
def test_a_fast_or_variable_rate_clip_is_resampled(editor, moving, folder, tmp_path):
    _, src = moving
    report = video.edit_video(editor, src, tmp_path / "slow.mp4", emotion="fear", limits=VideoLimits(max_fps=6))
    assert (report.frames, report.fps) == (12, 6.0) and report.notes == ("moving.mp4 has 12 fps: resampled to 6 fps",)
    assert decode(tmp_path / "slow.mp4")[1]["duration"] == pytest.approx(2.0, abs=0.2)
    vfr = folder / "vfr.mp4"
    run_ffmpeg("-i", str(src), "-vf", "setpts='(N+0.6*mod(N\\,3))/12/TB'", "-fps_mode", "passthrough", "-c:v", "libx264",
               "-c:a", "copy", str(vfr))
    report = video.edit_video(editor, vfr, tmp_path / "vfr-out.mp4", emotion="fear")
    assert report.notes[0].startswith("vfr.mp4 has a variable frame rate: resampled to its average, ")
    clip = video.ffmpeg.probe(vfr)
    assert abs(report.frames - clip.seconds * clip.fps) <= 1.5 and report.edited == report.frames


def test_tracking_searches_every_few_frames_and_follows_the_face(editor, moving, monkeypatch):
    frames, _ = moving
    counter = DetectionCounter(monkeypatch, editor.detector)
    faces = video.track(editor.detector, frames, Tracking(detect_every=5))
    assert counter.n == 5 and all(f is not None for f in faces)  # frames 0, 5, 10, 15, 20
    for frame, face in zip(frames, faces):
        found = editor.detector.detect(frame)[0]
        assert np.abs(face.landmarks - found.landmarks).max() < 0.08 * found.size  # where a full search puts them


def test_smoothing_takes_out_the_detector_noise(editor):
    rng = np.random.default_rng(0)
    still = face_frames(PHOTOS_OBAMA, 24, motion=0.0)
    noisy = [np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8) for f in still]  # a camera's noise
    raw = video.track(editor.detector, noisy)
    jitter = [np.abs(np.diff(np.stack([f.landmarks for f in faces]), axis=0)).mean()
              for faces in (raw, video.smoothed(raw, 0.1 * 12))]
    assert jitter[0] > 0.3 and jitter[1] < 0.5 * jitter[0]


def test_smooth_landmarks_keeps_steady_motion_and_runs_apart():
    t = np.arange(100, dtype=np.float64)
    line = np.stack([np.stack([3 * t + k, -t + 2 * k], -1) for k in range(5)], 1)  # [20, 5, 2], steady motion
    assert np.allclose(video.smooth_landmarks(line, 2.0), line)
    assert np.array_equal(video.smooth_landmarks(line, 0.0), line)
    noise = np.random.default_rng(1).normal(0, 1, line.shape)
    assert np.std(video.smooth_landmarks(line + noise, 2.0) - line) < 0.5 * np.std(noise)
    gapped = line.copy()
    gapped[48:50] = np.nan
    gapped[50:] += 100.0  # a jump across the gap is not smoothed into either side
    out = video.smooth_landmarks(gapped, 2.0)
    assert np.isnan(out[48:50]).all() and np.allclose(out[:48], line[:48]) and np.allclose(out[50:], line[50:] + 100)


def test_tracking_settings_are_checked():
    for kwargs, message in (({"detect_every": 0}, "detect_every must be a whole number in 1..1000, got 0"),
                            ({"detect_every": 2.5}, "detect_every must be a whole number in 1..1000, got 2.5"),
                            ({"smooth_seconds": -1}, r"smooth_seconds must be a number in \[0, 10\], got -1"),
                            ({"detect_side": 10}, "detect_side must be a whole number in 64..4096, got 10")):
        with pytest.raises(GanmutError, match=message):
            Tracking(**kwargs)


@pytest.mark.slow
def test_cli_video(capsys, moving, linear_ckpt, tmp_path, folder):
    _, src = moving
    out = tmp_path / "cli.mp4"
    rc = main(["video", str(src), "-o", str(out), "--model", str(linear_ckpt), "--xy", "-0.3,0.2", "--smooth", "0.05"])
    stdout, err = capsys.readouterr()
    assert rc == 0 and stdout == f"wrote {out}: 24 frames of 320x240 px at 12 fps, the face edited in 24; sound kept\n"
    assert len(decode(out)[0]) == 24
    rc = main(["video", str(src), "-o", str(out), "--model", str(linear_ckpt), "--path", "neutral-to:happy", "--intensity", "0.5"])
    assert rc == 0 and "edited in 24" in capsys.readouterr().out
    sound = folder / "cli-tone.m4a"
    run_ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(sound))
    for args, line in (([str(sound), "--emotion", "happy"], "error: cli-tone.m4a has no video stream (only sound)"),
                       ([str(src), "--path", "tour", "--intensity", "0.5"], "error: intensity applies to an emotion or a neutral-to path"),
                       ([str(src), "--emotion", "happy", "--detect-every", "0"], "error: detect_every must be a whole number in 1..1000, got 0")):
        assert main(["video", *args, "-o", str(tmp_path / "bad.mp4"), "--model", str(linear_ckpt)]) == 2
        assert capsys.readouterr().err == line + "\n"
    assert not (tmp_path / "bad.mp4").exists()
