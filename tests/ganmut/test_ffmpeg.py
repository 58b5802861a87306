"""ganmut.ffmpeg against clips made by the bundled ffmpeg and read back by imageio-ffmpeg's own reader."""
from __future__ import annotations

import numpy as np
import pytest

from tests.clips import PHOTOS_OBAMA, decode, face_frames, ffmpeg as run_ffmpeg, write_clip
from ganmut import ffmpeg
from ganmut.errors import VideoError


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return face_frames(PHOTOS_OBAMA, 12)


@pytest.fixture(scope="module")
def clip(frames, tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("ffmpeg") / "face.mp4", frames)


def test_probe_reads_the_header(clip):
    c = ffmpeg.probe(clip)
    assert (c.width, c.height, c.fps, c.tbr, c.audio, c.rotation) == (320, 240, 12.0, 12.0, True, 0)
    assert c.seconds == pytest.approx(1.0, abs=0.05)


def test_frames_are_the_clip_as_another_reader_decodes_it(clip):
    ours = list(ffmpeg.frames(clip, ffmpeg.probe(clip)))
    theirs, _ = decode(clip)
    assert len(ours) == len(theirs) == 12 and all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def test_a_rotated_phone_clip_is_decoded_upright(frames, tmp_path):
    sideways = [np.rot90(f, -1) for f in frames]  # what the sensor stored: the picture turned clockwise
    path = tmp_path / "phone.mp4"
    run_ffmpeg("-display_rotation", "90", "-i", str(write_clip(tmp_path / "sensor.mp4", sideways)), "-c", "copy", str(path))
    c = ffmpeg.probe(path)
    assert (c.width, c.height, c.rotation) == (320, 240, 90)
    upright = list(ffmpeg.frames(path, c))
    assert upright[0].shape == (240, 320, 3)
    assert np.abs(upright[3].astype(int) - frames[3]).mean() < 4  # H.264's loss only


def test_a_variable_frame_rate_is_resampled_to_a_constant_one(frames, tmp_path):
    src = write_clip(tmp_path / "cfr.mp4", frames * 2, audio=False)
    vfr = tmp_path / "vfr.mp4"  # every third frame held longer, timestamps kept as they are
    run_ffmpeg("-i", str(src), "-vf", "setpts='(N+0.6*mod(N\\,3))/12/TB'", "-fps_mode", "passthrough", "-c:v", "libx264", str(vfr))
    c = ffmpeg.probe(vfr)
    assert c.fps != c.tbr
    out = list(ffmpeg.frames(vfr, c))
    assert abs(len(out) - c.seconds * c.fps) <= 1.5


def test_write_mp4_keeps_the_sound_and_crops_odd_sides(frames, clip, tmp_path):
    odd = [f[:239, :319] for f in frames]
    out = tmp_path / "out.mp4"
    assert ffmpeg.write_mp4(odd, out, 12, audio=clip) == 12
    got, meta = decode(out)
    assert len(got) == 12 and meta["size"] == (318, 238) and meta["audio_codec"] == "aac"
    assert meta["duration"] == pytest.approx(1.0, abs=0.1)
    assert np.abs(got[5].astype(int) - frames[5][:238, :318]).mean() < 4
    silent = tmp_path / "silent.mp4"
    ffmpeg.write_mp4(odd, silent, 12, audio=write_clip(tmp_path / "mute.mp4", frames, audio=False))
    assert not ffmpeg.probe(silent).audio


@pytest.mark.parametrize("text,message", [
    ("[in#0 @ 0x55]  Error opening input: Invalid data found when processing input\n"
     "Error opening input files: Invalid data found when processing input\n",
     "x.mp4 is not a video ffmpeg can read \\(Invalid data found when processing input\\)"),
    ("Input #0, mp3, from 'x.mp3':\n  Duration: 00:03:10.00, start: 0.0, bitrate: 128 kb/s\n"
     "  Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s\n"
     "  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 500x500 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)\n",
     "x.mp4 has no video stream \\(only sound\\)"),
])
def test_what_ffmpeg_says_becomes_one_line(text, message):
    with pytest.raises(VideoError, match=message):
        ffmpeg.parse_probe(text, "x.mp4")


def test_kilo_rates_and_codec_tags_are_not_sizes():
    c = ffmpeg.parse_probe("Input #0, mov, from 'a.mov':\n  Duration: 00:00:01.50, start: 0.0\n"
                           "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 1080x1920, 1k tbr, 90k tbn\n"
                           "    Side data:\n      Display Matrix: rotation of -90.00 degrees\n", "a.mov")
    assert (c.width, c.height, c.fps, c.seconds, c.rotation, c.audio) == (1920, 1080, 1000.0, 1.5, 270, False)


def test_every_run_has_a_deadline(clip, frames, tmp_path):
    with pytest.raises(VideoError, match="ffmpeg took over 1e-06 s to read the header of face.mp4"):
        ffmpeg.probe(clip, timeout=1e-6)
    with pytest.raises(VideoError, match="ffmpeg stalled for over 0.001 s decoding face.mp4"):
        list(ffmpeg.frames(clip, ffmpeg.probe(clip), timeout=0.001))
    big = [np.zeros((720, 1280, 3), np.uint8)] * 3  # a frame larger than a pipe holds: the write waits for ffmpeg
    with pytest.raises(VideoError, match="ffmpeg stalled for over 0.001 s writing out.mp4"):
        ffmpeg.write_mp4(big, tmp_path / "out.mp4", 12, timeout=0.001)
