"""ganmut.registry: one list of served models and lineages, which the editor, the web app and the training
session all read."""
from __future__ import annotations

from pathlib import Path

import pytest

from ganmut import registry

ROOT = Path(__file__).resolve().parents[2]


def test_every_consumer_lists_exactly_the_registry_s_served_models():
    from ganmut.weights import MODEL_ALIASES, MODEL_FILES
    from webapp.models import MODEL_LABELS

    names = [m.name for m in registry.SERVED]
    assert list(MODEL_FILES) == names and list(MODEL_LABELS) == names
    assert MODEL_FILES == {m.name: m.file for m in registry.SERVED}
    assert set(MODEL_ALIASES.values()) <= set(names) and {"ganmut", "gganmut"} <= set(MODEL_ALIASES)


def test_every_lineage_has_a_recipe_and_serves_a_registered_model_of_its_kind():
    from training.config import load_config
    from training.session import SessionConfig

    cfg = SessionConfig()
    assert list(cfg.lineages) == [line.name for line in registry.LINEAGES]
    for line in registry.LINEAGES:
        config = load_config(ROOT / "configs" / line.config)
        if line.serves is not None:
            assert config.kind == registry.served(line.serves).kind
            assert cfg.served(line.name) == cfg.weights / registry.served(line.serves).file
        else:
            assert cfg.served(line.name) is None
        assert cfg.state(line.name).name == f"ganmut-{line.name}.safetensors"


def test_a_new_lineage_entry_reaches_the_session(monkeypatch, tmp_path):
    from training.session import SessionConfig

    monkeypatch.setattr(registry, "LINEAGES", (*registry.LINEAGES, registry.Lineage("gaussian-warp", None)))
    cfg = SessionConfig(weights=tmp_path)
    assert cfg.state("gaussian-warp") == tmp_path / "training-state" / "ganmut-gaussian-warp.safetensors"
    assert cfg.config("gaussian-warp").name == "ganmut-gaussian-warp.toml" and cfg.served("gaussian-warp") is None
    with pytest.raises(KeyError):
        registry.lineage("nonsense")


@pytest.mark.slow
def test_a_new_served_model_appears_in_the_editor_the_app_and_the_session():
    """A fresh interpreter whose registry gains one entry before anything reads it: the names the editor
    loads, the labels the app shows and the files the session may replace all hold it."""
    import subprocess
    import sys

    code = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ganmut.registry", "ganmut/registry.py")
registry = sys.modules["ganmut.registry"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(registry)  # the registry as if its file held one more entry, before any module reads it
registry.SERVED = (*registry.SERVED, registry.ServedModel("sketch", "linear", "ganmut-sketch.safetensors", "Sketch"))
registry.LINEAGES = (*registry.LINEAGES, registry.Lineage("sketch", "sketch"))
from ganmut.weights import MODEL_FILES, model_name
from webapp.models import MODEL_LABELS
from training.session import SessionConfig
cfg = SessionConfig()
assert MODEL_FILES["sketch"] == "ganmut-sketch.safetensors" and model_name("Sketch") == "sketch"
assert MODEL_LABELS["sketch"] == "Sketch"
assert "sketch" in cfg.lineages and cfg.served("sketch").name == "ganmut-sketch.safetensors"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
