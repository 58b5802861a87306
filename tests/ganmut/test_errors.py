"""The helpers that turn bad input into one clear line."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ganmut.errors import CheckpointError, number, require_file, shorten


def test_shorten_echoes_at_most_about_sixty_characters_on_one_line():
    assert shorten("happy") == "'happy'" and shorten(None) == "None" and shorten([1, 2]) == "[1, 2]"
    huge = shorten("x" * 1_000_000)
    assert huge == "'" + "x" * 60 + "'... (1000000 characters)"
    arr = shorten(np.zeros((40, 40)))
    assert "\n" not in arr and len(arr) <= 63 and arr.endswith("...")
    assert shorten("a\nb") == "'a\\nb'"


@pytest.mark.parametrize("value", [None, True, "0.5", b"1", [0.5], math.nan, math.inf, object()])
def test_number_refuses_what_is_not_a_finite_real_number(value):
    with pytest.raises(ValueError, match=r"^intensity must be a number in \[0, 1\], got "):
        number(value, "intensity", (0, 1))


def test_number_accepts_real_numbers_within_bounds():
    assert number(1, "x") == 1.0 and number(np.float32(0.25), "x", (0, 1)) == 0.25 and number(-3e9, "x") == -3e9
    with pytest.raises(ValueError, match=r"^n must be a number in \[1, 24\], got 100000$"):
        number(100_000, "n", (1, 24))


def test_require_file_says_what_is_wrong_by_basename(tmp_path):
    f = tmp_path / "m.safetensors"
    f.write_bytes(b"12345")
    assert require_file(f, CheckpointError) == 5
    for path, message in ((tmp_path / "nope.bin", "model file not found: nope.bin"), (tmp_path, f"{tmp_path.name} is a folder"),
                          (Path("/dev/null"), "model file null is not a regular file")):
        with pytest.raises(CheckpointError) as e:
            require_file(path, CheckpointError, "model file")
        assert str(e.value).startswith(message) and str(tmp_path.parent) not in str(e.value)
