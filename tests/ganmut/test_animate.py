"""Animations of a face: codes of the paths, face-window frames, GIF and MP4 files, and the CLI."""
from __future__ import annotations

import subprocess

import imageio_ffmpeg
import pytest
from PIL import Image

from ganmut import animate
from ganmut.cli import main
from ganmut.errors import GanmutError


@pytest.mark.slow
def test_paths(editor):
    ramp = animate.path_codes(editor.space, "ramp", "sad")
    assert ramp[0] == pytest.approx((0.0, 0.0)) and len(ramp) == 22
    assert len(animate.path_codes(editor.space, "tour")) == 36
    with pytest.raises(GanmutError, match="unknown animation path 'zigzag'"):
        animate.path_codes(editor.space, "zigzag")


def _mp4_frames(path) -> tuple[int, tuple[int, int]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    return sum(1 for _ in reader), tuple(meta["size"])


def test_gif_and_mp4_hold_every_frame(editor, face_png, tmp_path):
    codes = animate.path_codes(editor.space, "ramp", "happy")
    frames = animate.frames(editor, face_png, codes, side=101)
    assert len(frames) == len(codes) and max(frames[0].size) == 101 and len({f.size for f in frames}) == 1
    assert frames[0].tobytes() != frames[len(frames) // 2].tobytes()  # the face moves
    gif = animate.write(frames, tmp_path / "a.gif")
    with Image.open(gif) as img:
        assert img.n_frames == len(frames) and img.info["loop"] == 0
    mp4 = animate.write(frames, tmp_path / "a.mp4")
    count, size = _mp4_frames(mp4)
    assert count == len(frames) and size == (frames[0].width - frames[0].width % 2, frames[0].height - frames[0].height % 2)
    with pytest.raises(GanmutError, match="use .gif or .mp4"):
        animate.write(frames, tmp_path / "a.avi")


def test_cli_animate(capsys, face_png, linear_ckpt, tmp_path):
    out = tmp_path / "tour.mp4"
    assert main(["animate", str(face_png), "-o", str(out), "--model", str(linear_ckpt), "--tour", "--side", "96"]) == 0
    assert "wrote" in capsys.readouterr().out and _mp4_frames(out)[0] == 36
    assert main(["animate", str(face_png), "-o", str(tmp_path / "x.mov"), "--model", str(linear_ckpt)]) == 2
    assert capsys.readouterr().err.strip() == "error: cannot write an animation as '.mov'; use .gif or .mp4"
    res = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(out), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr == ""  # ffmpeg decodes the file without complaint
