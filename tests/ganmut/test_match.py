"""Matching a reference expression and going back to neutral, end to end: the bundled emotion classifier
reads real photos, real MTCNN, tiny untrained checkpoints (tests/helpers.py)."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

import ganmut
from ganmut.cli import main
from ganmut.editor import Editor, Match
from ganmut.weights import CLASSIFIER_FILE
from ganmut.emotions import EMOTIONS, NEUTRAL
from ganmut.errors import CheckpointError, NoFaceError

HAPPY = EMOTIONS.index("happy")


@pytest.fixture(scope="module")
def editor(linear_ckpt) -> Editor:
    assert CLASSIFIER_FILE.is_file()
    return ganmut.load(linear_ckpt, device="cpu")  # the bundled classifier


@pytest.fixture(scope="module")
def smiling(photos):
    """photos/obama.jpg, which the bundled classifier reads as happy (83 %)."""
    return photos / "obama.jpg"


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    path = tmp_path_factory.mktemp("cat") / "cat.png"
    Image.fromarray(skimage.data.chelsea()).save(path)
    return path


def test_a_reference_read_as_happy_lands_in_the_happy_sector(editor, gaussian_editor, smiling, face_png):
    reading = editor.read(smiling)
    assert max(reading, key=reading.get) == "happy" and reading["happy"] > 0.6  # what the reference is
    gaussian_sector = lambda z: gaussian_editor.space.dominant(torch.tensor(z))[0]  # noqa: E731
    for ed, in_sector in ((editor, editor.space.nearest_emotion), (gaussian_editor, gaussian_sector)):
        m = ed.match(face_png, smiling)
        assert isinstance(m, Match) and m.reading == reading
        assert in_sector(m.point) == HAPPY
        assert m.point == pytest.approx(ed.space.point_of(reading)) and m.result.code == pytest.approx(m.point)
        before = np.asarray(Image.open(face_png))
        assert (np.asarray(m.result.image) != before).any()
    assert 0.6 < float(np.hypot(*editor.match(face_png, smiling).point)) <= 1 - reading["neutral"] + 1e-6


def test_a_reference_without_a_face_gets_one_line(editor, face_png, cat, tmp_path, capsys, linear_ckpt):
    with pytest.raises(NoFaceError, match="^reference photo: no face found in the image$"):
        editor.match(face_png, cat)
    out = tmp_path / "out.png"
    rc = main(["edit", str(face_png), "-o", str(out), "--model", str(linear_ckpt), "--like", str(cat)])
    assert rc == 2 and capsys.readouterr().err == "error: reference photo: no face found in the image\n"
    assert not out.exists()


def test_matching_needs_the_classifier(linear_ckpt, face_png, smiling):
    bare = ganmut.load(linear_ckpt, device="cpu", classifier=None)
    with pytest.raises(CheckpointError, match="matching a reference expression needs the emotion classifier"):
        bare.match(face_png, smiling)


def test_cli_like_matches_the_reference(capsys, tmp_path, face_png, smiling, linear_ckpt, editor):
    out = tmp_path / "matched.png"
    rc = main(["edit", str(face_png), "-o", str(out), "--model", str(linear_ckpt), "--like", str(smiling)])
    stdout = capsys.readouterr().out
    assert rc == 0 and out.is_file()
    point = editor.space.point_of(editor.read(smiling))
    assert stdout.startswith("obama.jpg reads as happy 83%")
    assert f"({point[0]:.3f}, {point[1]:.3f})" in stdout.splitlines()[1]
    expected = editor.edit(face_png, z=point).image
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(expected))


def test_back_to_neutral(editor, gaussian_editor, face_png, tmp_path, capsys, linear_ckpt):
    res = editor.neutral(face_png)
    assert res.code == (0.0, 0.0)
    assert np.array_equal(np.asarray(res.image), np.asarray(editor.edit(face_png, emotion="neutral").image))
    g = gaussian_editor.neutral(face_png)
    assert g.code == pytest.approx(tuple(gaussian_editor.space.means()[NEUTRAL].tolist()))
    out = tmp_path / "neutral.png"
    assert main(["edit", str(face_png), "-o", str(out), "--model", str(linear_ckpt), "--neutral"]) == 0
    assert "code (0.000, 0.000)" in capsys.readouterr().out
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(res.image))
