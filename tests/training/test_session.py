"""The continuing command, ``python -m training.session``, through its real entry point: tiny models trained
on real FER2013 faces in real subprocesses, judged by a real (tiny) classifier, stopped by SIGTERM and by
SIGKILL at unplanned moments.

What must hold: each call advances the committed training state and appends to the curve; a model below
the floor never becomes the served default; a stop at any moment leaves every committed file whole, and
the next call resumes the newest checkpoint, having lost at most ``--checkpoint-minutes``.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganmut.checkpoint import load_checkpoint
from training.config import load_config
from training.states import continuation_path, load_continuation, load_training_checkpoint
from training.session import SessionConfig, SessionError, finish_lineage, main, run_config
from tests.helpers import write_tiny_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_MINUTES = 0.02  # 1.2 s


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("configs")
    for name, kind, output in (("linear", "linear", "residual"), ("gaussian", "gaussian", "residual"),
                               ("linear-warp", "linear", "warp")):
        write_tiny_config(d / f"ganmut-{name}.toml", kind=kind, generator={"output": output},
                          optim={"batch_size": 8, "n_critic": 1, "ema_decay": 0.9, "iters": 10**6, "decay_iters": 0},
                          loss={"adversarial": "logistic", "penalty": "r1"},
                          log={"log_every": 5, "sample_every": 10**6, "ckpt_every": 10**6})
    return d


@pytest.fixture
def where(tmp_path, configs, fer_pack, fer_test_pack, tiny_classifier) -> dict:
    return {"configs": configs, "data": fer_pack, "test": fer_test_pack, "judge": tiny_classifier,
            "weights": tmp_path / "weights", "work": tmp_path / "work", "docs": tmp_path / "docs"}


def _args(where: dict, command: str = "run", **extra) -> list[str]:
    keys = ("test", "judge", "weights", "work", "docs") + (("configs", "data") if command == "run" else ())
    args = [command] + [a for k in keys for a in (f"--{k}", str(where[k]))] + ["--device", "cpu", "--eval-faces", "14"]
    if command == "run":
        args += ["--nice", "0", "--checkpoint-minutes", str(CHECKPOINT_MINUTES)]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def _digests(weights: Path) -> dict[str, str]:
    return {str(p.relative_to(weights)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(weights.rglob("*.safetensors"))}


def _assert_continuable(where: dict) -> None:
    """The committed linear training state is a whole, matching pair that training can continue from."""
    state = where["weights"] / "training-state" / "ganmut-linear.safetensors"
    resumed, why = load_continuation(state, load_config(where["configs"] / "ganmut-linear.toml"))
    assert resumed is not None, why


def _images_seen(state: Path) -> int:
    return load_checkpoint(state).meta["training"]["images_seen"]


def test_run_advances_the_state_and_the_curve_and_serves_nothing_below_the_floor(where, capsys):
    state = where["weights"] / "training-state" / "ganmut-linear.safetensors"
    assert main(_args(where, minutes=0.1)) == 0
    out = capsys.readouterr().out
    assert all(f"{name}: starting fresh" in out for name in ("linear", "gaussian", "linear-warp"))
    for name, kind in (("linear", "linear"), ("gaussian", "gaussian"), ("linear-warp", "linear")):
        s = where["weights"] / "training-state" / f"ganmut-{name}.safetensors"
        assert load_checkpoint(s).parametrization == kind and continuation_path(s).is_file()
        assert not (where["weights"] / f"ganmut-{name}.safetensors").exists()  # untrained: below the floor
    assert load_checkpoint(where["weights"] / "training-state" / "ganmut-linear-warp.safetensors").config.output == "warp"
    first = _images_seen(state)
    assert first > 0
    report = (where["docs"] / "report.md").read_text()
    assert "| linear |" in report and "below:" in report and "mean of the six emotions" in report

    assert main(_args(where, minutes=0.1, lineages="linear")) == 0
    assert "linear: resuming the run" in capsys.readouterr().out  # the run folder holds the exact, newer state
    assert _images_seen(state) > first
    curve = (where["docs"] / "curve.tsv").read_text().splitlines()
    assert curve[0].startswith("date\tkind\titerations\timages_seen") and len(curve) == 5  # header, 3 + 1 rows
    assert [row.split("\t")[1] for row in curve[1:]] == ["linear", "gaussian", "linear-warp", "linear"]


def test_a_new_committed_state_wins_over_an_old_run_folder(where, capsys):
    assert main(_args(where, minutes=0.05, lineages="linear")) == 0
    (where["work"] / "linear" / "origin.json").write_text('{"state": "from another clone"}')
    assert main(_args(where, minutes=0.05, lineages="linear")) == 0
    assert "linear: continuing weights/training-state/ganmut-linear.safetensors" in capsys.readouterr().out


def _start(where: dict, minutes: float) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "training.session", *_args(where, minutes=minutes, lineages="linear")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _wait_for_checkpoints(ckpt: Path, n: int, timeout: float = 120) -> None:
    """Until ``ckpt`` has been written ``n`` times (mtime changes)."""
    seen, end = set(), time.monotonic() + timeout
    while len(seen) < n and time.monotonic() < end:
        if ckpt.is_file():
            seen.add(ckpt.stat().st_mtime_ns)
        time.sleep(0.1)
    assert len(seen) >= n, f"{ckpt} was written {len(seen)} times in {timeout} s"


def test_sigkill_at_any_moment_keeps_the_committed_files_and_loses_at_most_one_checkpoint_interval(where, capsys):
    assert main(_args(where, minutes=0.05, lineages="linear")) == 0  # a committed state to protect
    before = _digests(where["weights"])
    ckpt = where["work"] / "linear" / "checkpoint.pt"
    proc = _start(where, minutes=5)
    _wait_for_checkpoints(ckpt, 3)
    os.killpg(proc.pid, signal.SIGKILL)  # the session and its training process, without warning
    killed_at = time.time()
    proc.wait(timeout=30)
    assert _digests(where["weights"]) == before  # nothing committed was touched
    _assert_continuable(where)
    assert killed_at - ckpt.stat().st_mtime <= CHECKPOINT_MINUTES * 60 + 5  # at most one interval (and a step) lost
    saved = load_training_checkpoint(ckpt)["images_seen"]
    assert saved > _images_seen(where["weights"] / "training-state" / "ganmut-linear.safetensors")

    assert main(_args(where, minutes=0.05, lineages="linear")) == 0
    assert "linear: resuming the run" in capsys.readouterr().out
    assert _images_seen(where["weights"] / "training-state" / "ganmut-linear.safetensors") > saved


def test_sigterm_stops_training_then_judges_and_publishes(where):
    proc = _start(where, minutes=5)
    _wait_for_checkpoints(where["work"] / "linear" / "checkpoint.pt", 2)
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "asked to stop" in out and "linear: mean of 6" in out
    assert load_checkpoint(where["weights"] / "training-state" / "ganmut-linear.safetensors").parametrization == "linear"


def test_a_stop_between_the_state_files_is_picked_up_by_the_next_run(where, monkeypatch, capsys):
    """A crash after the discriminator's file is replaced and before the generator's: the next run resumes
    the run folder (newer than both) and publishes a matching pair."""
    import shutil

    assert main(_args(where, minutes=0.05, lineages="linear")) == 0
    cfg = SessionConfig(lineages=("linear",), device="cpu", test=where["test"], judge=where["judge"], eval_faces=14,
                        weights=where["weights"], work=where["work"], docs=where["docs"])
    real_copy, calls = shutil.copyfile, []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt("stopped")
        return real_copy(src, dst)

    monkeypatch.setattr("training.session.shutil.copyfile", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        finish_lineage(cfg, "linear")
    monkeypatch.undo()
    assert main(_args(where, minutes=0.05, lineages="linear")) == 0
    assert "linear: resuming the run" in capsys.readouterr().out
    _assert_continuable(where)


def test_the_judge_may_not_guide(where, tmp_path):
    cfg = SessionConfig(configs=where["configs"], judge=where["judge"], sets=[f'guide.classifier="{where["judge"]}"'])
    with pytest.raises(SessionError, match="G would train against the judge"):
        run_config(cfg, "linear")


def test_one_line_errors(where, tmp_path, capsys):
    assert main(_args(where, lineages="linear,sad")) == 2
    assert main(_args(where | {"data": tmp_path / "missing.npz"})) == 2
    assert main(_args(where, "finish") + ["--work", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "unknown lineage" in err[0] and "no training pack" in err[1] and "no checkpoint" in err[2]


def test_a_model_that_passes_the_floor_is_served_only_while_it_is_the_better(where, monkeypatch, capsys):
    """No test model can pass the real floor, so the rule's answer is replaced here; the publishing is real."""
    import training.floor
    from training import session

    monkeypatch.setattr(training.floor, "verdict", lambda fig, floor=None: {"passes": True, "misses": [], "floor": {}})
    served = where["weights"] / "ganmut-linear.safetensors"
    assert main(_args(where, minutes=0.05, lineages="linear")) == 0
    assert "now the served default" in capsys.readouterr().out
    first = served.read_bytes()
    assert load_checkpoint(served).parametrization == "linear"
    monkeypatch.setattr(session, "better", lambda new, old: False)
    assert main(_args(where, minutes=0.05, lineages="linear")) == 0
    assert "the served file is unchanged" in capsys.readouterr().out and served.read_bytes() == first
    monkeypatch.setattr(session, "better", lambda new, old: True)  # a candidate lineage serves nothing, even so
    assert main(_args(where, minutes=0.05, lineages="linear-warp")) == 0
    assert "the served file is unchanged" in capsys.readouterr().out and served.read_bytes() == first
    assert sorted(p.name for p in where["weights"].glob("*.safetensors")) == ["ganmut-linear.safetensors"]


def test_better_ranks_passing_first_then_the_mean():
    from training.session import better

    assert better({"passes": False, "mean6": 0.1}, None)
    assert better({"passes": True, "mean6": 0.5}, {"passes": False, "mean6": 0.9})
    assert not better({"passes": True, "mean6": 0.5}, {"passes": True, "mean6": 0.6})
