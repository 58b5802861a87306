"""training.evaluate end to end on tiny models, a tiny classifier and 14 real test faces (CPU)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import make_tiny_checkpoint
from ganmut.emotions import EMOTIONS, NEUTRAL
from ganmut.spaces import make_space
from training.evaluate import balanced_subset, main, series_codes

MAX_MSE = 2 / len(EMOTIONS)  # largest possible MSE between two distributions over 7 classes


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    return {k: make_tiny_checkpoint(d / f"tiny-{k}.safetensors", k, image_size=16) for k in ("linear", "gaussian", "stargan")}


@pytest.fixture(scope="module")
def evaluation(tiny_models, fer_test_pack, tiny_classifier, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    args = [str(tiny_models["linear"]), str(tiny_models["gaussian"]), "--baseline", str(tiny_models["stargan"]),
            "--data", str(fer_test_pack), "--classifier", str(tiny_classifier), "--out", str(out),
            "--limit", "14", "--device", "cpu", "--plot-faces", "2", "--quiet"]
    assert main(args) == 0
    return out, json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
def test_metrics_cover_every_model_and_lie_in_range(evaluation):
    _, m = evaluation
    assert m["faces"] == 14 and set(m["face_counts"].values()) == {2}
    assert [r["parametrization"] for r in m["models"].values()] == ["linear", "gaussian", "stargan"]
    for acc in [m["real"]["accuracy"], *(r["accuracy"] for r in m["models"].values())]:
        assert set(acc) == {*EMOTIONS, "mean"} and all(0 <= v <= 1 for v in acc.values())
    assert m["real"]["fed_halves"] >= 0
    for r in m["models"].values():
        values = [v for v in r["smoothness"].values() if v is not None]
        assert all(0 <= v <= 1 for v in values)
        assert len(values) + sum(n > 0 for n in r["smoothness_flat"].values()) >= len(r["smoothness"])
        assert all(len(s) == 11 and all(0 <= v <= 1 for v in s) for s in r["mean_scores"].values())
        assert 0 <= r["ere"]["setting1"] <= MAX_MSE and 0 <= r["ere"]["setting2"] <= MAX_MSE
        assert r["ere"]["targets"] == {"setting1": 1, "setting2": 1}  # 14 faces = one group of 16
        assert r["fed"] >= 0 and math.isfinite(r["fed"])
    assert [r["ere"]["grid_codes"] for r in m["models"].values()] == [421, 441, 7]
    assert "fed_uniform" in m["models"]["tiny-gaussian (gaussian)"]


@pytest.mark.slow
def test_report_has_the_paper_tables_and_figures(evaluation):
    out, m = evaluation
    report = (out / "report.md").read_text()
    for heading in ("Table 3", "Table 1", "Table 2", "ERE setting 1", "FED", "| Real |", "CPU"):
        assert heading in report
    for name in m["models"]:
        assert f"| {name} |" in report
    files = [f for fs in m["figures"].values() for f in fs]
    assert len(files) == 4 + 4 + 3  # no space figure for StarGAN
    for f in files:
        with Image.open(out / f) as im:
            assert im.format == "PNG" and im.width > 100


def test_series_codes_follow_space_code():
    space = make_space("gaussian")
    codes, index = series_codes(space)
    assert codes.shape == (61, 2) and index.shape == (6, 11)
    assert (index[:, 0] == 0).all()
    assert torch.allclose(codes[0], space.anchors()[NEUTRAL])
    assert torch.allclose(codes[index[2, 4]], space.code(3, 0.4))
    assert torch.allclose(codes[index[5, 10]], space.anchors()[6])


def test_balanced_subset_covers_classes_deterministically():
    labels = np.repeat(np.arange(7), [50, 3, 20, 1, 9, 9, 9])
    a, b = balanced_subset(labels, 10, seed=1), balanced_subset(labels, 10, seed=1)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 10 and set(labels[a]) == set(range(7))
    assert len(balanced_subset(labels, None, 0)) == len(labels)


@pytest.mark.parametrize("case", ["missing_model", "baseline_not_stargan", "missing_pack", "classifier_is_a_generator", "too_few"])
def test_bad_inputs_exit_2_with_one_line(case, tiny_models, fer_test_pack, tiny_classifier, tmp_path, capsys):
    model, baseline, data, clf, limit = tiny_models["linear"], tiny_models["stargan"], fer_test_pack, tiny_classifier, "14"
    if case == "missing_model":
        model = tmp_path / "nope.safetensors"
    elif case == "baseline_not_stargan":
        baseline = tiny_models["gaussian"]
    elif case == "missing_pack":
        data = tmp_path / "nope.npz"
    elif case == "classifier_is_a_generator":
        clf = tiny_models["gaussian"]
    else:
        limit = "3"
    args = [str(model), "--baseline", str(baseline), "--data", str(data), "--classifier", str(clf),
            "--out", str(tmp_path / "out"), "--limit", limit, "--device", "cpu", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "out" / "metrics.json").exists()
