"""docs/strips.py: the neutral-to-emotion sheets of the example photos (real MTCNN on a real photo)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from docs import strips

ROOT = Path(__file__).resolve().parents[1]


def test_sheet_has_a_row_per_emotion_and_the_photo_first(gaussian_ckpt, tmp_path):
    import ganmut

    photo = ROOT / "assets" / "examples" / "obama.jpg"
    sheet = np.asarray(strips.sheet(ganmut.load(gaussian_ckpt, device="cpu", classifier=None), photo, 2, 48).convert("L"),
                       dtype=np.float32)
    assert sheet.shape == (20 + 6 * 48, strips.LABEL_W + 4 * 48)  # 6 emotions; photo, 0, 0.5, 1
    tiles = [[sheet[20 + r * 48:20 + (r + 1) * 48, strips.LABEL_W + c * 48:strips.LABEL_W + (c + 1) * 48] for c in range(4)]
             for r in range(6)]
    assert all(np.array_equal(row[0], tiles[0][0]) for row in tiles)  # the unedited face heads every row
    assert all(np.array_equal(row[1], tiles[0][1]) for row in tiles)  # intensity 0 is the neutral anchor for all
    assert not np.array_equal(tiles[0][1], tiles[0][0])  # the model edits it
    assert not np.array_equal(tiles[0][3], tiles[1][3])  # full intensity differs by emotion
    assert strips.main([str(gaussian_ckpt), str(photo), "-o", str(tmp_path), "--steps", "1", "--tile", "32"]) == 0
    assert Image.open(tmp_path / "obama.jpg").size == (strips.LABEL_W + 3 * 32, 20 + 6 * 32)


def test_bad_model_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert strips.main([str(bad), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
