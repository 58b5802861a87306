"""The quality floor: the rule as a pure function, the figures it reads, and what the session does with it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganmut.checkpoint import load_checkpoint
from ganmut.classifier import load_classifier
from ganmut.emotions import EMOTIONS
from training.floor import FLOOR, RAISED, Floor, floor_figures, verdict
from training.pack import load_pack


def _figures(six: list[float], neutral: float = 0.8, real_neutral: float = 0.7, identity: float = 0.03) -> dict:
    edits = dict(zip(EMOTIONS, [neutral, *six]))
    return {"faces": 100, "edits": edits, "mean6": float(np.mean(six)), "real": {"neutral": real_neutral}, "identity": identity}


def test_a_model_at_the_floor_passes():
    v = verdict(_figures([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], neutral=0.7, real_neutral=0.7, identity=0.05))
    assert v == {"passes": True, "misses": [],
                 "floor": {"mean": 0.5, "each": 0.4, "each_count": 4, "identity": 0.05, "rare": 0.0}}


@pytest.mark.parametrize("figures, miss", [
    (_figures([0.49] * 6), "mean of the six emotions 49.0% < 50%"),
    (_figures([0.9, 0.9, 0.9, 0.39, 0.0, 0.39]), "3 of 6 emotions at 40% or more (need 4)"),
    (_figures([0.6] * 6, neutral=0.69, real_neutral=0.7), "origin read as neutral 69.0% < real neutral faces 70.0%"),
    (_figures([0.6] * 6, identity=0.051), "identity change 0.051 > 0.05"),
])
def test_each_condition_of_the_floor_can_fail_alone(figures, miss):
    v = verdict(figures)
    assert v["passes"] is False and v["misses"] == [miss]


@pytest.mark.parametrize("six, misses", [
    ([0.6] * 6, []),
    ([0.8, 0.8, 0.8, 0.29, 0.5, 0.8], ["fear 29.0% < 30%"]),
    ([0.8, 0.8, 0.8, 0.5, 0.2, 0.8], ["disgust 20.0% < 30%"]),
    ([0.9, 0.9, 0.9, 0.39, 0.3, 0.9], ["4 of 6 emotions at 40% or more (need 5)"]),
    ([0.59] * 6, ["mean of the six emotions 59.0% < 60%"]),
])
def test_the_raised_floor_asks_for_fear_and_disgust(six, misses):
    assert verdict(_figures(six), RAISED)["misses"] == misses


def test_a_stricter_floor_is_a_parameter():
    assert not verdict(_figures([0.6] * 6), Floor(mean=0.8))["passes"]
    assert FLOOR.mean == 0.5


def test_floor_figures_count_what_the_judge_reads(linear_ckpt, tiny_classifier, fer_test_pack):
    model, judge = load_checkpoint(linear_ckpt), load_classifier(tiny_classifier)
    pack = load_pack(fer_test_pack)
    fig = floor_figures(model, judge, pack.images, pack.labels, batch_size=5)  # batches that split the classes
    from ganmut.images import to_model_input

    x = to_model_input(pack.images, model.config.image_size, model.config.channels)
    with torch.no_grad():
        happy = model.generator(x, model.space.code(1, 1.0).expand(len(x), -1).float())
        neutral = model.generator(x, model.space.code(0, 1.0).expand(len(x), -1).float())
        real = judge(x).argmax(-1).numpy()
        assert fig["edits"]["happy"] == pytest.approx(float((judge(happy).argmax(-1) == 1).float().mean()), abs=1e-4)
        assert fig["identity"] == pytest.approx(float((neutral - x).abs().mean()), abs=2e-4)
    for c, e in enumerate(EMOTIONS):
        mine = pack.labels == c
        assert fig["real"][e] == pytest.approx(float((real[mine] == c).mean()), abs=1e-4)
    assert fig["mean6"] == pytest.approx(np.mean([fig["edits"][e] for e in EMOTIONS[1:]]), abs=1e-4)
    assert fig["faces"] == len(pack.labels)


@pytest.mark.slow
def test_the_command_judges_served_files_and_runs_side_by_side(linear_ckpt, tiny_classifier, fer_pack, fer_test_pack,
                                                               tmp_path, capsys):
    from training.floor import main as floor_main
    from training.train import main as train_main
    from tests.helpers import write_tiny_config

    config = write_tiny_config(tmp_path / "tiny.toml", optim={"batch_size": 8, "iters": 4})
    train_main(["--config", str(config), "--data", str(fer_pack), "--out", str(tmp_path / "run"), "--no-progress"])
    capsys.readouterr()
    judge = ["--test", str(fer_test_pack), "--judge", str(tiny_classifier), "--device", "cpu"]
    assert floor_main([str(linear_ckpt), str(tmp_path / "run"), *judge]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| model | mean of 6") and len(table) == 4
    assert table[2].startswith(f"| {linear_ckpt} |") and table[3].startswith(f"| {tmp_path / 'run'} |")
    expected = floor_figures(load_checkpoint(linear_ckpt), load_classifier(tiny_classifier), *_pack(fer_test_pack))
    assert f"| {100 * expected['mean6']:.1f} % |" in table[2] and f"| {expected['identity']:.3f} |" in table[2]
    assert floor_main([str(linear_ckpt), "--json", *judge]) == 0
    assert json.loads(capsys.readouterr().out)[str(linear_ckpt)]["mean6"] == expected["mean6"]
    assert floor_main([str(tmp_path / "nothing.safetensors"), *judge]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def _pack(path):
    pack = load_pack(path)
    return pack.images, pack.labels
