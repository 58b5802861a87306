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
