"""The data archive carried to a GPU machine: mosaics, lossless and lossy round trips, integrity checks."""
from __future__ import annotations

import tarfile

import numpy as np
import pytest

from training import archive
from training.archive import ArchiveError, Encoding, from_mosaics, to_mosaics
from training.pack import load_pack


@pytest.mark.parametrize("n,channels", [(1, 1), (1030, 1), (70, 3)])
def test_mosaics_round_trip_exactly(n, channels):
    rng = np.random.default_rng(n)
    faces = rng.integers(0, 256, (n, channels, 16, 16), dtype=np.uint8)
    mosaics = to_mosaics(faces, tile=8)
    assert len(mosaics) == -(-n // 64) and mosaics[0].shape[:2] == (min(8, -(-n // 8)) * 16, 128)
    assert np.array_equal(from_mosaics(mosaics, n, channels, 16, tile=8), faces)


@pytest.fixture(scope="module")
def packs(fer_pack, fer_test_pack):
    return {"train": load_pack(fer_pack), "test": load_pack(fer_test_pack)}


def test_lossless_archive_restores_every_pixel_and_label(packs, tmp_path):
    path = tmp_path / "exact.tar"
    manifest = archive.build(packs, path, Encoding(lossless=True), progress=False)
    assert manifest["encoding"] == "lossless WebP" and manifest["splits"]["train"]["psnr_db"] == float("inf")
    back = archive.read(path)
    for split, pack in packs.items():
        assert np.array_equal(back[split].images, pack.images) and np.array_equal(back[split].labels, pack.labels)
        assert back[split].meta["archive"]["encoding"] == "lossless WebP"


def test_lossy_archive_is_smaller_and_close(packs, tmp_path):
    exact, lossy = tmp_path / "exact.tar", tmp_path / "lossy.tar"
    archive.build(packs, exact, Encoding(lossless=True), progress=False)
    manifest = archive.build(packs, lossy, Encoding(quality=90), progress=False)
    assert lossy.stat().st_size < exact.stat().st_size
    train = archive.read(lossy)["train"]
    assert np.array_equal(train.labels, packs["train"].labels)
    measured = archive.psnr(train.images, packs["train"].images)
    assert measured == pytest.approx(manifest["splits"]["train"]["psnr_db"], abs=0.01) and measured > 35
    paths = archive.extract(lossy, tmp_path / "packs")
    assert np.array_equal(load_pack(paths["test"]).images, archive.read(lossy)["test"].images)


def test_a_damaged_or_wrong_archive_is_refused_in_one_line(packs, tmp_path):
    path = tmp_path / "a.tar"
    archive.build(packs, path, progress=False)
    assert archive.check(path)["format"] == archive.FORMAT
    with tarfile.open(path) as tar:
        offset = tar.getmember("test-labels.npy").offset_data + 130
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 1
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match="test-labels.npy is corrupt"):
        archive.check(bad)
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    for wrong, message in ((tmp_path / "junk.tar", "not a readable archive"), (tmp_path / "none.tar", "archive not found")):
        with pytest.raises(ArchiveError, match=message):
            archive.check(wrong)
    only_train = tmp_path / "train-only.tar"
    archive.build({"train": packs["train"]}, only_train, progress=False)
    with pytest.raises(ArchiveError, match="no test split"):
        archive.check(only_train)


def test_cli_builds_from_fer_folders_and_reports_errors(fer2013, tmp_path, capsys):
    out = tmp_path / "carry" / "fer.tar"
    assert archive.main(["build", str(fer2013), "-o", str(out), "--quiet"]) == 0
    assert "train 70 faces" in capsys.readouterr().out
    assert archive.main(["check", str(out)]) == 0 and "intact" in capsys.readouterr().out
    assert archive.main(["extract", str(out), "-o", str(tmp_path / "p")]) == 0
    assert len(load_pack(tmp_path / "p" / "test.npz")) == 70
    assert archive.main(["build", str(fer2013), "-o", str(out), "--quality", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: --quality must lie in 1..100, got 0"


def test_a_ferplus_archive_carries_three_splits_and_the_votes(ferplus, tmp_path, capsys):
    out = tmp_path / "ferplus.tar"
    assert archive.main(["build", str(ferplus), "-o", str(out), "--quiet", "--lossless"]) == 0
    assert "valid 2 faces" in capsys.readouterr().out
    assert archive.main(["extract", str(out), "-o", str(tmp_path / "p")]) == 0
    train = load_pack(tmp_path / "p" / "train.npz")
    assert len(train) == 5 and train.votes is not None and np.allclose(train.votes.sum(1), 1)
    assert np.allclose(train.votes, load_pack(_prepared(ferplus, tmp_path)).votes, atol=1e-3)  # float16 in the archive
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["test.npz", "train.npz", "valid.npz"]


def _prepared(ferplus, tmp_path):
    from training.prepare import main as prepare_main

    assert prepare_main([str(ferplus), "-o", str(tmp_path / "direct.npz"), "--quiet"]) == 0
    return tmp_path / "direct.npz"
