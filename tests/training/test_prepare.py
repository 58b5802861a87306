"""training.prepare on small real FER2013 subsets, with corrupt files and unknown labels mixed in."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganmut.emotions import EMOTIONS
from training.pack import load_pack
from ganmut.images import to_model_input
from training.prepare import PrepareConfig, PrepareError, detect_layout, main, prepare

PER_CLASS = 10
FER_FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def _first(folder, n):
    return sorted(folder.glob("*.png"))[:n]


@pytest.fixture(scope="module")
def fer_copy(fer2013, tmp_path_factory):
    """FER2013 layout: 10 real faces per emotion in train/ and 2 in test/, plus a random-bytes .png,
    a truncated .png (both in train/) and an unknown-label folder with 2 faces."""
    root = tmp_path_factory.mktemp("fer")
    for split, n in (("train", PER_CLASS), ("test", 2)):
        for name in FER_FOLDERS:
            dst = root / split / name
            dst.mkdir(parents=True)
            for f in _first(fer2013 / split / name, n):
                shutil.copy(f, dst / f.name)
    (root / "train" / "happy" / "zz_random.png").write_bytes(np.random.default_rng(0).bytes(300))
    real = _first(fer2013 / "train" / "sad", 1)[0].read_bytes()
    (root / "train" / "sad" / "zz_truncated.png").write_bytes(real[: len(real) // 2])
    (root / "train" / "bored").mkdir()
    for f in _first(fer2013 / "train" / "neutral", 2):
        shutil.copy(f, root / "train" / "bored" / f.name)
    return root


def test_fer_layout_survives_corrupt_files_and_counts(fer_copy, tmp_path, capsys):
    out = tmp_path / "train.npz"
    assert main([str(fer_copy), "-o", str(out), "--split", "train", "--quiet"]) == 0
    pack = load_pack(out)
    assert pack.images.shape == (7 * PER_CLASS, 1, 48, 48) and pack.images.dtype == np.uint8
    assert pack.counts() == {e: PER_CLASS for e in EMOTIONS}
    assert list(pack.labels) == sorted(pack.labels)  # class by class
    sk = pack.meta["skipped"]
    assert sk["reasons"] == {"unreadable image": 2, "unknown label folder 'bored'": 2}
    assert sk["total"] == 4
    assert pack.meta["layout"] == "fer2013" and pack.meta["split"] == "train" and pack.meta["image_size"] == 48
    printed = capsys.readouterr().out
    assert "skipped: 4" in printed and re.search(rf"^happy\s+{PER_CLASS}$", printed, re.M)


def test_fer_pixels_match_the_source_files(fer_copy, fer2013):
    pack = prepare(PrepareConfig(source=fer_copy, out=fer_copy / "unused.npz", split="test", progress=False))
    first_anger = _first(fer2013 / "test" / "angry", 1)[0]
    assert len(pack) == 14 and EMOTIONS[pack.labels[-1]] == "anger"
    np.testing.assert_array_equal(pack.images[-2, 0], np.asarray(Image.open(first_anger)))


def test_deterministic_resize_channels_and_limit(fer_copy):
    cfg = PrepareConfig(source=fer_copy, out=fer_copy / "unused.npz", size=32, channels=3, limit_per_class=3, progress=False)
    a, b = prepare(cfg), prepare(cfg)
    assert a.images.shape == (21, 3, 32, 32)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.images[:, 0], a.images[:, 2])  # grey source stays grey in RGB


def test_csv_layout(fer_copy, tmp_path):
    files = {e: _first(fer_copy / "train" / folder, 2) for e, folder in zip(
        ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"), FER_FOLDERS)}
    lines = ["subDirectory_filePath,face_x,expression,valence"]
    for e, fs in files.items():
        lines += [f"{f.parent.name}/{f.name},0,{EMOTIONS.index(e)},0.1" for f in fs]
    lines += [f"happy/{files['happy'][0].name},0,7,0", "sad/nothing_here.png,0,2,0", "neutral/x.png,0,abc,0",
              f"happy/{files['happy'][0].name},0,10,0", "happy/zz_random.png,0,1,0"]
    csv = tmp_path / "list.csv"
    csv.write_text("\n".join(lines) + "\n")
    assert detect_layout(csv) == "csv"
    pack = prepare(PrepareConfig(source=csv, out=tmp_path / "p.npz", root=fer_copy / "train", progress=False))
    assert pack.counts() == {e: 2 for e in EMOTIONS}
    assert pack.meta["skipped"]["reasons"] == {
        "label 7 (not a basic emotion)": 1, "label 10 (not a basic emotion)": 1, "missing file": 1,
        "unreadable label": 1, "unreadable image": 1,
    }
    assert EMOTIONS[pack.labels[0]] == "neutral"  # label 0 first


def test_csv_without_required_columns_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\na.png,1\n")
    assert main([str(bad), "-o", str(tmp_path / "p.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "subDirectory_filePath" in err and "\n" not in err


def test_generic_folder_layout_with_aliases_and_jpegs(fer_copy, tmp_path):
    src = tmp_path / "faces"
    for folder in ("Happiness", "angry", "neutral", "not_an_emotion"):
        (src / folder).mkdir(parents=True)
        for f in _first(fer_copy / "train" / ("happy" if folder == "Happiness" else "neutral" if folder != "angry" else "angry"), 3):
            Image.open(f).save(src / folder / (f.stem + ".jpg"))
    (src / "neutral" / "notes.txt").write_text("not an image")
    assert detect_layout(src) == "folders"
    pack = prepare(PrepareConfig(source=src, out=tmp_path / "p.npz", progress=False))
    assert pack.counts() == {"neutral": 3, "happy": 3, "sad": 0, "surprise": 0, "fear": 0, "disgust": 0, "anger": 3}
    assert pack.meta["skipped"]["reasons"] == {"unknown label folder 'not_an_emotion'": 3}


@pytest.mark.parametrize("make", ["missing", "empty", "no_emotions"])
def test_bad_source_exits_2_with_one_line(tmp_path, capsys, make):
    src = tmp_path / "src"
    if make != "missing":
        src.mkdir()
    if make == "no_emotions":
        (src / "cats").mkdir()
        (src / "cats" / "a.png").write_bytes(b"x")
    assert main([str(src), "-o", str(tmp_path / "p.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "p.npz").exists()


def test_all_files_unreadable_is_an_error(tmp_path):
    (tmp_path / "src" / "happy").mkdir(parents=True)
    (tmp_path / "src" / "happy" / "a.png").write_bytes(b"not a png")
    with pytest.raises(PrepareError, match="could be read"):
        prepare(PrepareConfig(source=tmp_path / "src", out=tmp_path / "p.npz", progress=False))


def test_to_model_input_range_size_and_channels():
    img = np.zeros((2, 1, 8, 8), dtype=np.uint8)
    img[1] = 255
    x = to_model_input(img, size=16, channels=3)
    assert x.shape == (2, 3, 16, 16) and x.dtype == torch.float32
    assert torch.all(x[0] == -1) and torch.all(x[1] == 1)
    rgb = np.zeros((1, 3, 4, 4), dtype=np.uint8)
    rgb[0, 1] = 255  # pure green -> luminance 0.587
    grey = to_model_input(rgb, channels=1)
    assert grey.shape == (1, 1, 4, 4)
    assert torch.allclose(grey, torch.full_like(grey, 0.587 * 2 - 1), atol=1e-5)


def test_align_real_photos(photos, tmp_path):
    """--align: MTCNN on 12 real LFW photos plus a face-free image; the blank one is skipped and counted,
    the faces are warped (not just resized) to the requested size."""
    src = tmp_path / "faces"
    rows = (photos / "lfw" / "labels.csv").read_text().split()[1:]
    for row in rows:
        rel, emotion = row.split(",")
        (src / emotion).mkdir(parents=True, exist_ok=True)
        shutil.copy(photos / rel, src / emotion / Path(rel).name)
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(src / emotion / "blank.png")
    aligned = prepare(PrepareConfig(source=src, out=tmp_path / "a.npz", align=True, size=64, progress=False))
    plain = prepare(PrepareConfig(source=src, out=tmp_path / "p.npz", size=64, progress=False))
    reasons = aligned.meta["skipped"]["reasons"]
    assert reasons == {"no face found": 1} and len(aligned) == len(rows) == len(plain) - 1
    assert aligned.images.shape[1:] == (1, 64, 64) and aligned.meta["aligned"] and len(aligned.meta["template"]) == 5
    faces = plain.subset(plain.images.reshape(len(plain), -1).std(1) > 0)
    assert aligned.counts() == faces.counts()
    assert np.abs(aligned.images.astype(int) - faces.images.astype(int)).mean() > 10
