"""Named points of the space: the store, and `python -m ganmut presets` / `edit --preset`."""
from __future__ import annotations

import json
import shutil

import pytest

from ganmut.cli import main
from ganmut.presets import MAX_PRESETS, PresetError, PresetStore


def test_store_round_trip_delete_and_limits(tmp_path):
    store = PresetStore(tmp_path / "p" / "presets.json")
    assert store.list() == {}
    store.save("wistful", "gaussian", (-0.35, 0.5))
    store.save("half happy", "linear", [0.5, 0.0])
    assert store.get("wistful").z == (-0.35, 0.5) and store.get("half happy").model == "linear"
    assert list(store.list()) == ["half happy", "wistful"]
    store.delete("wistful")
    with pytest.raises(PresetError, match="no preset named 'wistful' \\(known: 'half happy'\\)"):
        store.get("wistful")
    for bad in ("", " lead", "a/b", "x" * 41, "../etc"):
        with pytest.raises(PresetError, match="must be 1 to 40"):
            store.save(bad, "linear", (0.0, 0.0))
    with pytest.raises(PresetError, match="not finite"):
        store.save("nan", "linear", (float("nan"), 0.0))
    for i in range(MAX_PRESETS - 1):
        store.save(f"p{i}", "linear", (0.0, 0.0))
    with pytest.raises(PresetError, match=f"at most {MAX_PRESETS} presets"):
        store.save("one-more", "linear", (0.0, 0.0))


def test_a_damaged_file_is_reported_and_kept(tmp_path):
    path = tmp_path / "presets.json"
    path.write_text("{not json")
    with pytest.raises(PresetError, match="presets.json is not a readable presets file"):
        PresetStore(path).save("x", "linear", (0.0, 0.0))
    assert path.read_text() == "{not json"
    path.write_text(json.dumps({"version": 1, "presets": {"x": {"model": "linear"}}}))
    with pytest.raises(PresetError, match="preset 'x' is malformed"):
        PresetStore(path).list()


def test_cli_saves_lists_applies_and_deletes(capsys, tmp_path, face_png, linear_ckpt):
    file = tmp_path / "presets.json"
    assert main(["presets", "save", "up-left", "--xy", "-0.3,0.4", "--model", str(linear_ckpt), "--file", str(file)]) == 0
    assert main(["presets", "save", "sadish", "--emotion", "sad", "--intensity", "0.5", "--model", str(linear_ckpt),
                 "--file", str(file)]) == 0
    assert main(["presets", "list", "--file", str(file)]) == 0
    out = capsys.readouterr().out
    assert "up-left: " in out and "(-0.300, +0.400)" in out and "sadish: " in out
    direct, preset = tmp_path / "direct.png", tmp_path / "preset.png"
    assert main(["edit", str(face_png), "-o", str(direct), "--model", str(linear_ckpt), "--xy", "-0.3,0.4"]) == 0
    assert main(["edit", str(face_png), "-o", str(preset), "--preset", "up-left", "--presets-file", str(file)]) == 0
    assert direct.read_bytes() == preset.read_bytes()  # the preset's model and point
    assert main(["presets", "save", "far", "--xy", "0.9,0.9", "--model", str(linear_ckpt), "--file", str(file)]) == 2
    assert "lies outside the linear space" in capsys.readouterr().err
    assert main(["presets", "delete", "up-left", "--file", str(file)]) == 0
    assert main(["edit", str(face_png), "-o", str(preset), "--preset", "up-left", "--presets-file", str(file)]) == 2
    assert capsys.readouterr().err.strip().startswith("error: no preset named 'up-left'")


@pytest.mark.parametrize("value, message", [
    ({"model": "linear", "z": [int("9" * 400), 0]}, "not finite numbers"),  # too large for a float
    ({"model": "linear", "z": "00"}, "malformed"),
    ({"model": "linear", "z": {"0.1": 1, "0.2": 2}}, "malformed"),
    ({"model": "linear", "z": [True, 0.0]}, "not finite numbers"),
    ({"model": "linear", "z": ["0.1", 0.0]}, "not finite numbers"),
    ({"model": "linear", "z": [0.0] * 5_000_000}, "1 to 16 numbers"),  # refused before converting
    ({"model": ["linear"], "z": [0.0, 0.0]}, "malformed"),
    ({"model": "x" * 300, "z": [0.0, 0.0]}, "1 to 200 characters"),
    ([0.1, 0.2], "malformed"),
    ('{"model": "linear", "z": [1e999, 0]}', "not finite numbers"),
    ("[" * 900, "not JSON"),
    ({"model": "linear", "z": [0.1, 0.2], "weight": 2}, r"unknown keys \['weight'\]"),
    ('{"model": "linear", "z": [0.1, 0.2], "model": "gaussian"}', "gives the key 'model' twice"),
])
def test_hostile_preset_values_get_one_line(value, message):
    from ganmut.presets import parse_preset, parse_presets

    with pytest.raises(PresetError, match=message):
        parse_preset(value)
    with pytest.raises(PresetError):
        parse_presets({"x": value} if not isinstance(value, str) else value)


def test_hostile_presets_files_get_one_line(capsys, tmp_path, linear_ckpt):
    deep = tmp_path / "deep.json"
    deep.write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    twice = tmp_path / "twice.json"
    point = '{"model": "linear", "z": [0, 0]}'
    twice.write_text(f'{{"version": 1, "presets": {{"a": {point}, "a": {point}}}}}')
    for file, message in ((deep, "deep.json is not a readable presets file; fix or remove it"),
                          (twice, "twice.json gives the key 'a' twice; fix or remove it")):
        assert main(["presets", "list", "--file", str(file)]) == 2
        assert capsys.readouterr().err == f"error: {message}\n"
    assert main(["presets", "save", "x", "--xy", "0,0", "--model", str(linear_ckpt), "--file", "/proc/p.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write p.json: ") and err.count("\n") == 1, err


def test_the_cli_finds_weights_as_the_app_does(capsys, tmp_path, linear_ckpt, monkeypatch):
    import ganmut.editor

    monkeypatch.setattr(ganmut.weights, "WEIGHTS_DIR", tmp_path / "bundled")  # nothing bundled
    monkeypatch.delenv("GANMUT_WEIGHTS", raising=False)
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(linear_ckpt, folder / "ganmut-linear.safetensors")
    file = tmp_path / "presets.json"
    assert main(["presets", "save", "a", "--xy", "0.1,0.2", "--file", str(file)]) == 2
    assert "no trained weights are bundled yet" in capsys.readouterr().err
    assert main(["presets", "save", "a", "--xy", "0.1,0.2", "--weights", str(folder), "--file", str(file)]) == 0
    monkeypatch.setenv("GANMUT_WEIGHTS", str(folder))  # as the app takes it
    assert main(["presets", "save", "b", "--emotion", "sad", "--file", str(file)]) == 0
    assert main(["info", "linear", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 2)[-1])["file"] == str(folder / "ganmut-linear.safetensors")
    assert list(PresetStore(file).list()) == ["a", "b"]
