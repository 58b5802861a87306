"""The one-call GPU session, run on CPU through its real entry point: tiny models, real FER2013 faces,
a 60-s deadline, through to the output folder and its size limits, then a commit and a continued session.

A change that breaks the GPU path (archive, budgeted training, continuation, evaluation, choosing,
output limits, the check) fails here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganmut.checkpoint import load_checkpoint, read_safetensors
from training import archive
from training.prepare import PrepareConfig, prepare
from training.session import LIMITS, STATE, main
from conftest import write_tiny_config

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = {"ganmut-linear.safetensors", "ganmut-gaussian.safetensors", STATE, "report.md", "report.json",
           "samples-linear.png", "samples-gaussian.png", "session.log"}


@pytest.fixture(scope="module")
def data(fer2013, tmp_path_factory) -> Path:
    """An archive of real FER2013 faces: 10 per emotion for training, 4 for testing."""
    path = tmp_path_factory.mktemp("carry") / "fer.tar"
    packs = {s: prepare(PrepareConfig(source=fer2013, out=path, split=s, limit_per_class=n, progress=False))
             for s, n in (("train", 10), ("test", 4))}
    archive.build(packs, path, progress=False)
    return path


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("configs")
    for kind in ("linear", "gaussian"):
        write_tiny_config(d / f"ganmut-{kind}.toml", kind=kind,
                          optim={"batch_size": 8, "n_critic": 1, "ema_decay": 0.9},
                          loss={"adversarial": "logistic", "penalty": "r1"},
                          log={"log_every": 10, "sample_every": 10**6, "ckpt_every": 10**6})
    return d


def _run(data: Path, configs: Path, weights: Path, out: Path, work: Path, *extra: str) -> int:
    return main(["run", "--archive", str(data), "--configs", str(configs), "--weights", str(weights), "--out", str(out),
                 "--work", str(work), "--minutes", "1", "--eval-faces", "28", "--device", "cpu", *extra])


def _check_outputs(out: Path) -> dict:
    files = list(out.iterdir())
    assert {f.name for f in files} == OUTPUTS and all(f.is_file() for f in files)
    assert len(files) <= LIMITS["files"] and all(f.stat().st_size <= LIMITS["file_bytes"] for f in files)
    assert sum(f.stat().st_size for f in files) <= LIMITS["total_bytes"]
    return json.loads((out / "report.json").read_text())


def test_session_trains_evaluates_commits_and_continues(data, configs, tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    assert _run(data, configs, weights, tmp_path / "out1", tmp_path / "work1", "--solo-probe", "0", "--variants", "direct",
                "--classifier-width", "4") == 0
    report = _check_outputs(tmp_path / "out1")
    assert set(report["choices"]) == {"linear", "gaussian"}
    assert all(c["verdict"] == "replace" for c in report["choices"].values())  # nothing to keep yet
    assert report["classifier_trained"]
    runs = report["throughput"]["runs"]
    assert set(runs) == {"linear-direct", "gaussian-direct"}
    assert all(r["images_per_s"] > 0 and r["start"].startswith("fresh") for r in runs.values())
    assert any("budget: measured" in r.get("schedule", "") for r in runs.values())  # (a starved CPU may end one first)
    for model in report["evaluation"]["models"].values():
        assert 0 <= model["identity"]["cycle_l1"] <= 2
    spread = report["choices"]["gaussian"]["ranking"][0]["anchors"]  # the Gaussian means are watched
    assert spread["mean_from_neutral"] > 0 and spread["min_between"] > 0
    meta, tensors = read_safetensors(tmp_path / "out1" / STATE, key="ganmut_session_state")
    assert {"linear", "gaussian", "classifier"} <= set(meta)
    assert any(k.startswith("linear.D.") for k in tensors) and any(k.startswith("classifier.") for k in tensors)
    assert "# GPU training session" in (tmp_path / "out1" / "report.md").read_text()

    docs = tmp_path / "docs"
    assert main(["commit", str(tmp_path / "out1"), "--weights", str(weights), "--docs", str(docs)]) == 0
    first = load_checkpoint(weights / "ganmut-linear.safetensors")
    assert (weights / "continuation" / "ganmut-linear.safetensors").is_file() and (weights / "fer-classifier.safetensors").is_file()
    assert (docs / "report.md").is_file() and (docs / "samples-gaussian.png").is_file()

    # the next GPU session continues the committed models, trains the hedge variant beside them, probes one
    # process alone first, and the current files compete with the new ones
    assert _run(data, configs, weights, tmp_path / "out2", tmp_path / "work2", "--solo-probe", "3", "--minutes", "1.5") == 0
    report = _check_outputs(tmp_path / "out2")
    assert not report["classifier_trained"] and report["throughput"]["solo_images_per_s"] > 0
    assert set(report["throughput"]["runs"]) == {"linear-direct", "linear-residual", "gaussian-direct", "gaussian-residual"}
    start = report["throughput"]["runs"][f"linear-{first.generator.cfg.output}"]["start"]
    assert start.startswith("continuing ganmut-linear.safetensors from iteration")
    assert any(r["name"] == str(weights / "ganmut-linear.safetensors") for r in report["choices"]["linear"]["ranking"])
    chosen = Path(report["choices"]["linear"]["best_new"]).stem
    if chosen == f"linear-{first.generator.cfg.output}":
        again = load_checkpoint(tmp_path / "out2" / "ganmut-linear.safetensors")
        assert again.meta["training"]["iterations"] > first.meta["training"]["iterations"]
        assert len(again.meta["training"]["history"]) == 2


def _blocked_app_packages(tmp_path: Path) -> dict:
    """An environment in which importing Gradio, plotly, facenet-pytorch or spaces fails, as on the GPU machine."""
    block = tmp_path / "blocked"
    block.mkdir()
    for name in ("gradio", "plotly", "facenet_pytorch", "spaces"):
        (block / f"{name}.py").write_text(f"raise ImportError('{name} is not installed on the GPU machine')\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(block), str(ROOT)]))


def test_check_passes_quickly_without_the_app_packages(data, configs, tmp_path):
    res = subprocess.run([sys.executable, "-m", "training.session", "check", "--archive", str(data), "--configs", str(configs),
                          "--weights", str(tmp_path)], cwd=ROOT, env=_blocked_app_packages(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "check passed" in res.stdout and "outputs: 8 files" in res.stdout
    assert "run linear-direct: fresh (no served checkpoint" in res.stdout


def test_check_refuses_a_corrupt_archive_and_oversized_outputs(data, configs, tmp_path, capsys):
    import tarfile

    with tarfile.open(data) as tar:
        offset = tar.getmember("train-000.webp").offset_data + 100
    raw = bytearray(data.read_bytes())
    raw[offset] ^= 0xFF  # one flipped bit pattern inside a mosaic
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(raw))
    assert main(["check", "--archive", str(bad), "--configs", str(configs), "--weights", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "SHA-256 mismatch" in err and "\n" not in err
    big = ["--set", "generator.conv_dim=96", "--set", "generator.n_res=9", "--set", "generator.image_size=64"]
    assert main(["check", "--archive", str(data), "--configs", str(configs), "--weights", str(tmp_path), *big]) == 2
    assert "the device returns files of at most 16 MiB" in capsys.readouterr().err


def test_a_run_asked_to_stop_at_the_deadline_saves_and_exports(fer_pack, configs, tmp_path):
    """SIGTERM (the session's deadline) ends training after the current step with a checkpoint and the export."""
    from training.session import Log, _start, _wait

    export = tmp_path / "m.safetensors"
    cmd = [sys.executable, "-m", "training.train", "--config", str(configs / "ganmut-linear.toml"), "--data", str(fer_pack),
           "--out", str(tmp_path / "run"), "--iters", "100000", "--no-progress", "--device", "cpu", "--export", str(export)]
    log = Log()
    proc = _start(cmd, tmp_path / "run.log")
    deadline = time.monotonic() + 60
    while not (tmp_path / "run" / "config.toml").is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)  # the run directory appears when training starts
    time.sleep(2)
    _wait([("run", proc)], log.elapsed(), log, grace=60)
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-2000:]
    assert load_checkpoint(export).meta["training"]["iterations"] > 0
    assert any("asked to stop at the deadline" in line for line in log.lines)


def test_unevaluated_models_never_replace_judged_ones(tmp_path, linear_ckpt):
    from training.session import Log, Run, SessionConfig, unevaluated

    weights = tmp_path / "w"
    weights.mkdir()
    (weights / "ganmut-linear.safetensors").write_bytes(linear_ckpt.read_bytes())
    cfg = SessionConfig(archive=tmp_path / "a.tar", out=tmp_path / "o", weights=weights, variants=("direct", "residual"))
    runs = [Run(k, v, tmp_path / "c.toml", tmp_path / k / v, tmp_path / f"{k}-{v}.safetensors", tmp_path / "log")
            for k, v in (("linear", "residual"), ("linear", "direct"), ("gaussian", "residual"))]
    choices = unevaluated(cfg, runs, Log())["choices"]
    assert choices["linear"]["verdict"] == "keep-current" and choices["linear"]["best_new"].endswith("linear-direct.safetensors")
    assert choices["gaussian"]["verdict"] == "replace" and choices["gaussian"]["best_new"].endswith("gaussian-residual.safetensors")
