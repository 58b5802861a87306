"""``python -m ganmut``: exit codes, one-line errors, outputs."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganmut.cli import main

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _read(path) -> Image.Image:
    with Image.open(path) as img:
        img.load()
        return img


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def test_edit_writes_the_image(capsys, tmp_path, face_png, linear_ckpt):
    out = tmp_path / "out.png"
    rc, stdout, err = _run(capsys, "edit", face_png, "-o", out, "--model", linear_ckpt, "--emotion", "happy", "--intensity", "0.5")
    assert rc == 0 and err == ""
    assert "1 face(s) edited" in stdout
    img = _read(out)
    assert img.size == (350, 350) and img.mode == "L"
    assert (np.asarray(img) != np.asarray(_read(face_png))).any()


def test_verbose_prints_the_classifier_readout(capsys, tmp_path, face_png, linear_ckpt, tiny_classifier, monkeypatch):
    out = tmp_path / "v.png"
    rc, stdout, err = _run(capsys, "edit", face_png, "-o", out, "--model", linear_ckpt, "--emotion", "sad", "--verbose",
                           "--classifier", tiny_classifier)
    assert rc == 0 and err == ""
    assert "emotion readout by tiny-classifier.safetensors" in stdout and "dominant emotion is sad" in stdout
    face = next(line for line in stdout.splitlines() if line.startswith("  face 0: before: "))
    assert face.count("%") == 6 and " | after: " in face
    import ganmut.weights as weights_mod

    monkeypatch.setattr(weights_mod, "CLASSIFIER_FILE", tmp_path / "none.safetensors")
    rc, stdout, err = _run(capsys, "edit", face_png, "-o", out, "--model", linear_ckpt, "--emotion", "sad", "-v")
    assert rc == 0 and "emotion readout off: no classifier at weights/none.safetensors" in stdout and "face 0" not in stdout


def test_polar_is_in_degrees_and_equals_xy(capsys, tmp_path, face_png, linear_ckpt):
    a, b = tmp_path / "polar.png", tmp_path / "xy.png"
    x, y = 0.8 * math.cos(math.radians(120)), 0.8 * math.sin(math.radians(120))
    assert _run(capsys, "edit", face_png, "-o", a, "--model", linear_ckpt, "--polar", "120,0.8")[0] == 0
    assert _run(capsys, "edit", face_png, "-o", b, "--model", linear_ckpt, "--xy", f"{x!r},{y!r}")[0] == 0
    np.testing.assert_array_equal(np.asarray(_read(a)), np.asarray(_read(b)))


def test_negative_xy_values_are_accepted(capsys, tmp_path, face_png, linear_ckpt):
    rc, stdout, _ = _run(capsys, "edit", face_png, "-o", tmp_path / "n.png", "--model", linear_ckpt, "--xy", "-0.5,-0.25")
    assert rc == 0 and "(-0.500, -0.250)" in stdout


def test_grid_writes_a_wheel(capsys, tmp_path, face_png, gaussian_ckpt):
    out = tmp_path / "grid.png"
    rc, _, err = _run(capsys, "grid", face_png, "-o", out, "--model", gaussian_ckpt, "--rings", "1", "--directions", "6")
    assert rc == 0 and err == ""
    img = _read(out)
    assert img.mode == "RGB" and img.width == img.height > 3 * 96


def test_info_lists_emotions_and_directions(capsys, linear_ckpt):
    rc, out, _ = _run(capsys, "info", linear_ckpt, "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["parametrization"] == "linear" and len(d["emotions"]) == 7
    assert set(d["space"]) == {"happy", "sad", "surprise", "fear", "disgust", "anger"}
    assert "theta_deg" in d["space"]["happy"]
    rc, out, _ = _run(capsys, "info", linear_ckpt)
    assert rc == 0 and "parametrization: linear" in out and "theta_deg" in out


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("text", r"notes.txt is not an image"),
        ("cat", r"no face found"),
        ("emotion", r"unknown emotion 'joy'; choose one of: neutral"),
        ("outside", r"outside the linear space"),
        ("model", r"not a valid safetensors file"),
        ("pickle", r"looks like a pickle"),
        ("intensity", r"--intensity applies to --emotion only"),
        ("format", r"cannot write out.jpg: JPEG cannot store RGBA images; choose e.g. .png or .tif$"),
        ("devzero", r"^error: model file zero is not a regular file$"),
        ("nofolder", r"^error: folder \S+/missing does not exist$"),
        ("outdir", r"^error: \S+ is a folder; name an image file to write$"),
        ("extension", r"^error: cannot write 'out.xyz': no image format has the extension '.xyz'"),
        ("none", r"^error: image file not found: none.png$"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(capsys, tmp_path, face_png, linear_ckpt, case, pattern):
    src, model, code = face_png, linear_ckpt, ["--emotion", "happy"]
    out = tmp_path / "out.png"
    if case == "text":
        src = tmp_path / "notes.txt"
        src.write_text("not a picture")
    elif case == "cat":
        src = tmp_path / "cat.png"
        Image.fromarray(skimage.data.chelsea()).save(src)
    elif case == "emotion":
        code = ["--emotion", "joy"]
    elif case == "outside":
        code = ["--xy", "0.9,0.9"]
    elif case == "model":
        model = tmp_path / "broken.safetensors"
        model.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    elif case == "pickle":
        model = tmp_path / "model.pt"
        model.write_bytes(b"\x80\x04K\x01.")
    elif case == "intensity":
        code = ["--xy", "0.1,0.1", "--intensity", "0.5"]
    elif case == "format":
        src = tmp_path / "rgba.png"
        rgba = _read(face_png).convert("RGBA")
        rgba.save(src)
        out = tmp_path / "out.jpg"
    elif case == "devzero":
        model = "/dev/zero"
    elif case == "nofolder":
        out = tmp_path / "missing" / "x.png"
    elif case == "outdir":
        out = tmp_path
    elif case == "extension":
        out = tmp_path / "out.xyz"
    elif case == "none":
        src = tmp_path / "none.png"
    rc, _, err = _run(capsys, "edit", src, "-o", out, "--model", model, *code)
    assert rc == 2
    assert __import__("re").search(pattern, _one_error_line(err))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_a_failed_write_leaves_an_existing_output_untouched(capsys, tmp_path, face_png, linear_ckpt):
    out = tmp_path / "out.jpg"
    _read(face_png).save(out)
    before = out.read_bytes()
    src = tmp_path / "rgba.png"
    _read(face_png).convert("RGBA").save(src)
    rc, _, err = _run(capsys, "edit", src, "-o", out, "--model", linear_ckpt, "--emotion", "happy")
    assert rc == 2 and "JPEG cannot store RGBA" in _one_error_line(err)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg", "rgba.png"]
    rc, _, _ = _run(capsys, "edit", face_png, "-o", out, "--model", linear_ckpt, "--emotion", "happy")
    assert rc == 0 and out.read_bytes() != before and sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg", "rgba.png"]


@pytest.mark.parametrize(
    "kind, out_name, mode, size, notes",
    [
        ("cmyk", "out.png", "RGB", (910, 1137), ["PNG cannot store CMYK images: out.png is written as RGB"]),
        ("cmyk", "out.jpg", "CMYK", (910, 1137), []),
        ("big", "out.jpg", "RGB", (4000, 3000),
         ["obama-big.jpg is 8000x6000 px (48 megapixels); it is edited at 4000x3000 px, as at most 40 megapixels are edited"]),
        ("heic", "out.png", "RGB", (910, 1137), []),
        ("gif", "out.png", "P", (910, 1137), ["obama-gif.gif has 3 frames: only the first is edited"]),
    ],
)
@pytest.mark.slow
def test_odd_photos_are_edited_and_notes_say_how(capsys, tmp_path, odd_photos, linear_ckpt, kind, out_name, mode, size, notes):
    out = tmp_path / out_name
    rc, stdout, err = _run(capsys, "edit", odd_photos[kind], "-o", out, "--model", linear_ckpt, "--emotion", "surprise")
    assert rc == 0 and "1 face(s) edited" in stdout
    assert err.splitlines() == [f"note: {n}" for n in notes]
    img = _read(out)
    assert img.mode == mode and img.size == size


def test_grid_size_is_bounded(capsys, tmp_path, face_png, linear_ckpt):
    for extra, message in ((["--directions", "100000"], "n_directions must be a number in [1, 24], got 100000"),
                           (["--rings", "0.1,0.2,0.3,0.4,0.5,0.6,0.7"], "a grid has 1 to 6 rings, got 7")):
        rc, _, err = _run(capsys, "grid", face_png, "-o", tmp_path / "g.png", "--model", linear_ckpt, *extra)
        assert rc == 2 and _one_error_line(err) == f"error: {message}"
    assert list(tmp_path.iterdir()) == []


def test_bundled_model_missing_is_one_line(capsys, tmp_path, face_png, monkeypatch):
    import ganmut.editor

    monkeypatch.setattr(ganmut.weights, "WEIGHTS_DIR", tmp_path)
    monkeypatch.delenv("GANMUT_WEIGHTS", raising=False)
    rc, _, err = _run(capsys, "edit", face_png, "-o", tmp_path / "o.png", "--emotion", "happy")
    assert rc == 2 and "no trained weights are bundled yet" in _one_error_line(err)


def test_usage_errors_exit_2(capsys, face_png):
    with pytest.raises(SystemExit) as e:
        main(["edit", str(face_png), "-o", "x.png", "--emotion", "happy", "--xy", "0,0"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["edit", str(face_png), "-o", "x.png", "--polar", "90"])
    assert e.value.code == 2
    assert "--polar must be 2 comma-separated numbers" in capsys.readouterr().err


@pytest.mark.slow
def test_module_entry_point_edits_a_cmyk_jpeg_to_png(tmp_path, odd_photos, linear_ckpt):
    out = tmp_path / "out.png"
    proc = subprocess.run(
        [sys.executable, "-m", "ganmut", "edit", str(odd_photos["cmyk"]), "-o", str(out), "--model", str(linear_ckpt),
         "--emotion", "happy"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "note: PNG cannot store CMYK images: out.png is written as RGB\n"
    assert _read(out).mode == "RGB"


@pytest.mark.slow
def test_module_entry_point_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "ganmut", "edit", str(bad), "-o", str(tmp_path / "o.png"), "--model", str(model), "--emotion", "happy"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


def test_unknown_device_is_one_line(capsys, tmp_path, face_png, linear_ckpt):
    rc, _, err = _run(capsys, "edit", face_png, "-o", tmp_path / "o.png", "--model", linear_ckpt, "--emotion", "happy", "--device", "tpu")
    assert rc == 2 and "unknown device 'tpu'" in _one_error_line(err)


def test_a_folder_is_edited_photo_by_photo_and_failures_go_on(capsys, tmp_path, photos, linear_ckpt):
    src = tmp_path / "photos"
    src.mkdir()
    for name in ("George_W_Bush_0132.jpg", "Mike_Weir_0007.jpg"):
        (src / name).write_bytes((photos / "lfw" / name).read_bytes())
    Image.fromarray(np.full((80, 80, 3), 200, np.uint8)).save(src / "blank.png")  # no face
    (src / "broken.jpg").write_bytes(b"not an image")
    (src / "notes.txt").write_text("not a photo, not counted")
    out = tmp_path / "edited"
    rc, stdout, err = _run(capsys, "edit", src, "-o", out, "--model", linear_ckpt, "--emotion", "sad", "--intensity", "0.7")
    assert rc == 1 and "edited 2 of 4 photos into" in stdout and "2 failed" in stdout
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert [e.split(":")[1].strip() for e in errors] == ["blank.png", "broken.jpg"]
    assert sorted(p.name for p in out.iterdir()) == ["George_W_Bush_0132.jpg", "Mike_Weir_0007.jpg"]
    assert _read(out / "Mike_Weir_0007.jpg").size == _read(src / "Mike_Weir_0007.jpg").size
    rc, _, err = _run(capsys, "edit", src, "-o", src, "--model", linear_ckpt, "--emotion", "sad")
    assert rc == 2 and "another folder" in err
    rc, _, err = _run(capsys, "edit", src, "-o", out, "--model", linear_ckpt, "--xy", "2,2")
    assert rc == 2 and "outside the linear space" in err  # checked before any photo
    rc, _, err = _run(capsys, "edit", src, "-o", tmp_path / "o.png", "--model", linear_ckpt, "--emotion", "sad")
    assert rc == 2 and _one_error_line(err) == ("error: 'o.png' names an image file: with a folder of photos, "
                                                "-o names a folder (made if missing)")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize(
    "command, extra, output, says",
    [
        ("edit", ["--emotion", "happy"], "/proc/a.png", "cannot write /proc/a.png: No such file or directory"),
        ("grid", [], "/proc/a.png", "cannot write /proc/a.png: No such file or directory"),
        ("animate", [], "/proc/a.gif", "cannot write /proc/a.gif: No such file or directory"),
        ("video", ["--emotion", "happy"], "/proc/a.mp4", "cannot write /proc/a.mp4: No such file or directory"),
        ("edit", ["--emotion", "happy"], "IN", "{IN} is also the input: write the output to another file"),
        ("edit", ["--like", "IN"], "IN", "{IN} is also the input: write the output to another file"),
        ("grid", [], "IN", "{IN} is also the input: write the output to another file"),
        ("animate", [], "IN", "{IN} is also the input: write the output to another file"),
        ("video", ["--emotion", "happy"], "IN", "{IN} is also the input: write the output to another file"),
    ],
)
def test_the_output_is_checked_before_any_work(capsys, tmp_path, face_png, linear_ckpt, monkeypatch, command, extra,
                                               output, says):
    """An output that cannot be written, or that is the input, is one line naming the path as given,
    before a model loads or the input is read; the input is left as it was."""
    import ganmut.editor

    src = tmp_path / {"animate": "in.gif", "video": "in.mp4"}.get(command, "in.png")
    src.write_bytes(face_png.read_bytes())  # the work would fail on this content: the check comes first
    loads = []
    monkeypatch.setattr(ganmut.editor, "load", lambda *a, **k: loads.append(a))
    argv = [a.replace("IN", str(src)) for a in [command, str(src), "-o", output, "--model", str(linear_ckpt), *extra]]
    rc, _, err = _run(capsys, *argv)
    assert rc == 2 and _one_error_line(err) == "error: " + says.replace("{IN}", str(src))
    assert loads == [] and src.read_bytes() == face_png.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]  # no probe or temporary file left


def _zlib_header(png) -> bytes:
    """The first two bytes of a PNG's image data: zlib's header, whose FLEVEL bits say how hard it compressed."""
    data = png.read_bytes()
    at = data.index(b"IDAT") + 4
    return data[at:at + 2]


def test_pngs_are_written_at_the_measured_fast_level(capsys, tmp_path, face_png, linear_ckpt):
    """The full-resolution PNG is written at zlib level 1 (benchmarks/inference.md): zlib's header says
    "fastest" (0x78 0x01), not Pillow's default level 6 (0x78 0x9c)."""
    from ganmut.images import PNG_COMPRESS_LEVEL, save_options

    out = tmp_path / "out.png"
    rc, _, _ = _run(capsys, "edit", face_png, "-o", out, "--model", linear_ckpt, "--emotion", "happy")
    assert rc == 0 and PNG_COMPRESS_LEVEL == 1 and _zlib_header(out) == b"\x78\x01"
    assert save_options("PNG") == {"compress_level": 1} and save_options("JPEG") == {}
