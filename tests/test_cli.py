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
from ganmut.images import load_image

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def face_png(tmp_path_factory, photos):
    path = tmp_path_factory.mktemp("cli") / "face.png"
    load_image(photos / "lfw" / "George_W_Bush_0132.jpg").save(path)
    return path


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
    import ganmut.editor as editor_mod

    monkeypatch.setattr(editor_mod, "CLASSIFIER_FILE", tmp_path / "none.safetensors")
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
        ("format", r"cannot write out.jpg"),
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
    rc, _, err = _run(capsys, "edit", src, "-o", out, "--model", model, *code)
    assert rc == 2
    assert __import__("re").search(pattern, _one_error_line(err))


def test_bundled_model_missing_is_one_line(capsys, tmp_path, face_png, monkeypatch):
    import ganmut.editor

    monkeypatch.setattr(ganmut.editor, "WEIGHTS_DIR", tmp_path)
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
