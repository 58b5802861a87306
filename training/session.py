"""Continue training the served models for a while, judge them, keep the better: ``python -m training.session``.

    python -m training.session run --minutes 140          # both models, one thread each, low priority
    python -m training.session run --minutes 8 --device cuda
    python -m training.session finish                     # judge and publish what a stopped run left

``run`` trains every lineage of :data:`ganmut.registry.LINEAGES` (``--lineages``, default all: the served
linear and Gaussian models and the warp lineage) at once, one process each, from where it stands, for
``--minutes``; then it does what ``finish`` does. Where things live, for a lineage ``<name>``:

- ``configs/ganmut-<name>.toml``: its recipe;
- ``weights/training-state/ganmut-<name>.safetensors`` and ``continuation/`` beside it (written by
  :func:`training.export.export`): the EMA generator and space, the discriminator and the counters.
  Training continues from here on any machine, and ``finish`` always advances it to the newest run.
- the served file of the model it serves (``weights/ganmut-linear.safetensors`` for ``linear``). ``finish``
  writes it only when the new model passes the quality floor (:mod:`training.floor`) and scores better than
  the file there; a lineage that serves no model (a candidate, such as ``linear-warp``) is judged and its
  state advanced, and is served by hand when it is ready.
- ``runs/session/<name>/`` (not in git): the run in progress, with ``checkpoint.pt`` saved every
  ``--checkpoint-minutes`` (5), its log and sample sheets. A run stopped by SIGTERM saves at once; one
  killed outright loses at most the time since its last checkpoint, and the next ``run`` resumes it
  exactly, as long as the training state it started from is still the one in ``weights/``.
- ``docs/training/``: ``report.md`` of the last finish, ``curve.tsv`` (one row per model per finish:
  images seen, CPU or GPU hours, the judge's figures) and each model's latest sample sheet.

Every file is replaced in one rename, the training state's discriminator before its generator, and
``origin.json`` in the run folder names the state a run may resume over: a stop at any moment leaves
the committed files whole and the next ``run`` picks up the newest of them. SIGTERM to ``run`` stops
the training processes (each saves) and then finishes; a second SIGTERM stops without finishing.

The judge is a classifier that G never trained against (``--judge``, default the bundled
``weights/fer-classifier.safetensors``): ``run`` refuses a config whose ``[guide]`` is the judge.
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ganmut.registry import LINEAGES, lineage, served

from .states import CKPT_NAME, continuation_path

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = "training-state"
# the curve's "kind" column holds the lineage's name (the column is older than the lineages)
CURVE_COLUMNS = ("date", "kind", "iterations", "images_seen", "device_hours", "device", "judge", "faces", "mean6",
                 "happy", "sad", "surprise", "fear", "disgust", "anger", "neutral_at_origin", "real_neutral",
                 "identity", "passes_floor", "served")


class SessionError(RuntimeError):
    """Something the session cannot go on with (a one-line message)."""


@dataclass
class SessionConfig:
    minutes: float = 140.0
    lineages: tuple[str, ...] = tuple(line.name for line in LINEAGES)
    device: str = "auto"
    threads: int = 1
    nice: int = 19
    checkpoint_minutes: float = 5.0
    data: Path | None = None  # None: each config's own training pack
    test: Path = ROOT / "packs" / "ferplus-test.npz"
    eval_faces: int | None = 2000
    judge: Path = ROOT / "weights" / "fer-classifier.safetensors"
    weights: Path = ROOT / "weights"
    configs: Path = ROOT / "configs"
    work: Path = ROOT / "runs" / "session"
    docs: Path = ROOT / "docs" / "training"
    sets: list[str] = field(default_factory=list)

    def served(self, name: str) -> Path | None:
        """The served file lineage ``name`` may replace (None for a candidate)."""
        model = lineage(name).serves
        return None if model is None else self.weights / served(model).file

    def state(self, name: str) -> Path:
        return self.weights / STATE_DIR / lineage(name).state_file

    def config(self, name: str) -> Path:
        return self.configs / lineage(name).config

    def run_dir(self, name: str) -> Path:
        return self.work / name


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def digest(path: Path) -> str | None:
    """SHA-256 of a file, None when there is none."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


# --------------------------------------------------------------------------- planning
def run_config(cfg: SessionConfig, name: str):
    """The TrainConfig of lineage ``name`` from its ``configs/ganmut-<name>.toml`` and the ``--set`` overrides."""
    from .config import load_config, merge, parse_override

    overrides: dict = {}
    for text in cfg.sets:
        merge(overrides, parse_override(text))
    c = load_config(cfg.config(name), overrides)
    model = lineage(name).serves
    if model is not None and c.kind != served(model).kind:
        raise SessionError(f"{cfg.config(name)} trains kind {c.kind!r}, but {model} is a {served(model).kind} model")
    if c.guide.classifier and c.guide.weight > 0 and Path(c.guide.classifier).resolve() == cfg.judge.resolve():
        raise SessionError(f"{name}: G would train against the judge {cfg.judge.name}; guide with another classifier")
    return c


def start_args(cfg: SessionConfig, name: str) -> tuple[list[str], str]:
    """The ``training.train`` arguments that pick up lineage ``name`` where it stands, and a line saying from where."""
    run, state = cfg.run_dir(name), cfg.state(name)
    origin = _read_json(run / "origin.json")
    if (run / CKPT_NAME).is_file() and digest(state) in (origin.get("state"), origin.get("publishing")):
        return ["--resume"], f"resuming the run in {run} (its checkpoint is newer than {state.name})"
    if run.exists():
        shutil.rmtree(run)  # a run over an older state: the committed state is newer
    run.mkdir(parents=True)
    _write_json(run / "origin.json", {"state": digest(state)})
    for source in (state, cfg.served(name)):
        if source is not None and source.is_file() and continuation_path(source).is_file():
            return ["--continue-from", str(source)], f"continuing {source.relative_to(cfg.weights.parent)}"
    return [], "starting fresh (no training state)"


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, value: dict) -> None:
    from ganmut.files import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1))


# --------------------------------------------------------------------------- training
def _lower_priority(nice: int):
    """preexec_fn of a training process: lower its priority, and have it stopped (SIGTERM, so that it
    saves) if the session dies first (Linux)."""
    def setup() -> None:
        os.nice(nice)
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    return setup


def start(cfg: SessionConfig, name: str) -> tuple[subprocess.Popen, str]:
    args, why = start_args(cfg, name)
    run = cfg.run_dir(name)
    cmd = [sys.executable, "-m", "training.train", "--config", str(cfg.config(name)),
           *(["--data", str(cfg.data)] if cfg.data is not None else []), "--out", str(run), "--max-minutes", f"{cfg.minutes:.3f}",
           "--checkpoint-minutes", str(cfg.checkpoint_minutes), "--device", cfg.device, "--no-progress", *args]
    for text in cfg.sets:
        cmd += ["--set", text]
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(cfg.threads), MKL_NUM_THREADS=str(cfg.threads))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with open(run / "train.log", "ab") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                preexec_fn=_lower_priority(cfg.nice))
    return proc, why


def last_line(path: Path, prefix: str) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line.startswith(prefix)), "")


def train_all(cfg: SessionConfig) -> bool:
    """Train every lineage at once until ``--minutes`` pass or SIGTERM; False when asked twice to stop."""
    stops = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stops.append(time.monotonic()))
    procs = {}
    try:
        for name in cfg.lineages:
            procs[name], why = start(cfg, name)
            log(f"{name}: {why}; log {cfg.run_dir(name) / 'train.log'}")
        told, shown = 0, time.monotonic()
        while any(p.poll() is None for p in procs.values()):
            if len(stops) > told:
                told = len(stops)
                log("asked to stop: the training processes save and exit" + ("" if told == 1 else "; then no finish"))
                for p in procs.values():
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
            if time.monotonic() - shown >= 60:
                shown = time.monotonic()
                for name in cfg.lineages:
                    log(f"{name}: {last_line(cfg.run_dir(name) / 'train.log', 'iter ') or 'starting'}")
            time.sleep(1)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait()
        signal.signal(signal.SIGTERM, previous)
    for name, p in procs.items():
        log(f"{name}: " + (last_line(cfg.run_dir(name) / "train.log", "done:") or f"exited with status {p.returncode}"))
    return len(stops) < 2


# --------------------------------------------------------------------------- finishing
def judge(cfg: SessionConfig):
    """:func:`training.floor.load_judge` with the session's test pack, judge, faces and device."""
    from .floor import load_judge

    return load_judge(cfg.test, cfg.judge, cfg.eval_faces, cfg.device)


def better(new: dict, old: dict | None) -> bool:
    """Whether ``new`` should replace ``old`` as the served default: passing the floor first, then the mean."""
    return old is None or (new["passes"], new["mean6"]) > (old["passes"], old["mean6"])


def finish_lineage(cfg: SessionConfig, name: str, figures=None) -> dict:
    """Export the run's checkpoint, judge it (and the served file), advance the training state, and write the
    served file when the new model passes the floor and beats it (``figures``: a :func:`judge`); the lineage's
    report (a candidate lineage serves nothing)."""
    from ganmut.checkpoint import load_checkpoint
    from ganmut.files import atomic_path

    from .export import export

    run = cfg.run_dir(name)
    if not (run / CKPT_NAME).is_file():
        raise SessionError(f"{name}: no checkpoint in {run} to finish")
    candidate, _ = export(run / CKPT_NAME, run / "candidate" / f"ganmut-{name}.safetensors")
    figures = figures or judge(cfg)
    new = figures(candidate)
    target = cfg.served(name)
    old = figures(target) if target is not None and target.is_file() else None
    state, new_digest = cfg.state(name), digest(candidate)
    origin = _read_json(run / "origin.json")
    _write_json(run / "origin.json", origin | {"publishing": new_digest})
    for src, dst in ((continuation_path(candidate), continuation_path(state)), (candidate, state)):
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
    _write_json(run / "origin.json", {"state": new_digest})
    publish = target is not None and new["passes"] and better(new, old)
    if publish:
        with atomic_path(target) as tmp:
            shutil.copyfile(candidate, tmp)
    training = load_checkpoint(candidate).meta["training"]
    samples = sorted((run / "samples").glob("iter-*.png"))
    if samples:
        cfg.docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(samples[-1], cfg.docs / f"samples-{name}.png")
    report = {"lineage": name, "iterations": training["iterations"], "images_seen": training["images_seen"],
              "device_hours": round(training["device_time_s"] / 3600, 2), "device": training["device"],
              "new": new, "served_before": old, "served": publish}
    append_curve(cfg, report)
    return report


def append_curve(cfg: SessionConfig, r: dict) -> None:
    new = r["new"]
    row = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), "kind": r["lineage"], "iterations": r["iterations"],
           "images_seen": r["images_seen"], "device_hours": r["device_hours"], "device": r["device"],
           "judge": cfg.judge.name, "faces": new["faces"], "mean6": new["mean6"],
           **{e: new["edits"][e] for e in CURVE_COLUMNS[9:15]}, "neutral_at_origin": new["edits"]["neutral"],
           "real_neutral": new["real"]["neutral"], "identity": new["identity"], "passes_floor": new["passes"],
           "served": r["served"]}
    path = cfg.docs / "curve.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "" if path.is_file() else "\t".join(CURVE_COLUMNS) + "\n"
    with open(path, "a") as f:
        f.write(head + "\t".join(str(row[c]) for c in CURVE_COLUMNS) + "\n")


def markdown(reports: list[dict], cfg: SessionConfig) -> str:
    from .floor import FIGURE_COLUMNS, figure_cells, table

    lines = ["# Last training session", "", f"- finished: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- judge: `{cfg.judge.name}` (G never trained against it), {reports[0]['new']['faces'] if reports else 0} "
             f"class-balanced test faces of `{cfg.test.name}`, full-intensity edits", ""]
    rows = [f"{r['lineage']} | {r['iterations']} | {r['images_seen']:,} | {r['device_hours']} | {figure_cells(r['new'])} "
            f"| {'yes' if r['served'] else 'no'}" for r in reports]
    lines.append(table(f"model | iterations | images seen | device hours | {FIGURE_COLUMNS} | served", rows))
    return "\n".join(lines) + "\n\nThe whole curve is in `curve.tsv` beside this file.\n"


def finish(cfg: SessionConfig) -> list[dict]:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)  # training is over: judging may use every core
    reports, figures = [], judge(cfg)
    for name in cfg.lineages:
        r = finish_lineage(cfg, name, figures)
        n = r["new"]
        log(f"{name}: mean of 6 {n['mean6']:.1%}, identity {n['identity']:.3f}; "
            + ("passes the floor" if n["passes"] else "below the floor (" + "; ".join(n["misses"]) + ")")
            + ("; now the served default" if r["served"] else "; the served file is unchanged"))
        reports.append(r)
    (cfg.docs / "report.md").write_text(markdown(reports, cfg))
    return reports


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.session",
        description="Continue training the served models from the committed state, judge them with a classifier they never "
        "trained against, and keep the better (see weights/README.md).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  nohup python -m training.session run --minutes 140 > runs/session.log 2>&1 &\n"
        "  kill -TERM <its pid>    # stop early: the runs save, then it judges and publishes\n"
        "  python -m training.session run --lineages linear-warp,linear --minutes 140   # two cores: two lineages\n"
        "  python -m training.session finish --lineages linear",
    )
    sub = p.add_subparsers(dest="command", required=True)
    d = SessionConfig()
    for name, text in (("run", "train for --minutes, then finish"), ("finish", "judge and publish the runs in --work")):
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("--lineages", default=",".join(d.lineages),
                       help=f"lineages of ganmut.registry, comma-separated (default all: {','.join(d.lineages)}); one "
                       "process each, so pick as many as the machine has cores")
        s.add_argument("--device", default=d.device, help="auto (default), cpu, cuda, cuda:N")
        s.add_argument("--test", type=Path, default=d.test, help="test pack for the judge (default packs/ferplus-test.npz: FER+'s test faces and their pluralities)")
        s.add_argument("--eval-faces", type=int, default=d.eval_faces, help="class-balanced test faces judged (default 2000; 0: all)")
        s.add_argument("--judge", type=Path, default=d.judge, help="classifier that judges (default the bundled one)")
        s.add_argument("--weights", type=Path, default=d.weights, help="folder of the served files and training-state/ (default weights/)")
        s.add_argument("--work", type=Path, default=d.work, help="folder of the runs in progress (default runs/session/)")
        s.add_argument("--docs", type=Path, default=d.docs, help="report, curve and sample sheets (default docs/training/)")
        if name == "run":
            s.add_argument("--minutes", type=float, default=d.minutes, help="training time of each model (default 140)")
            s.add_argument("--data", type=Path, default=d.data, help="training pack for every model (default: each config's own)")
            s.add_argument("--configs", type=Path, default=d.configs, help="folder of ganmut-<lineage>.toml (default configs/)")
            s.add_argument("--threads", type=int, default=d.threads, help="CPU threads per model (default 1)")
            s.add_argument("--nice", type=int, default=d.nice, help="priority of the training processes (default 19, the lowest)")
            s.add_argument("--checkpoint-minutes", type=float, default=d.checkpoint_minutes,
                           help="save each run this often (default 5): what a SIGKILL can lose")
            s.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override for every model")
    return p


def main(argv: list[str] | None = None) -> int:
    from ganmut.errors import GanmutError

    from .config import ConfigError
    from .pack import PackError

    args = build_parser().parse_args(argv)
    cfg = SessionConfig(lineages=tuple(k for k in args.lineages.split(",") if k), device=args.device, test=args.test,
                        eval_faces=args.eval_faces or None, judge=args.judge, weights=args.weights, work=args.work, docs=args.docs)
    try:
        names = [line.name for line in LINEAGES]
        unknown = [k for k in cfg.lineages if k not in names]
        if unknown or not cfg.lineages:
            raise SessionError(f"unknown lineage(s) {unknown}; choose from {', '.join(names)}")
        for path, what in ((cfg.test, "test pack"), (cfg.judge, "judge classifier")):
            if not path.is_file():
                raise SessionError(f"no {what} at {path}" + (" (python -m training.prepare ... --split test)" if what == "test pack" else ""))
        if args.command == "run":
            cfg.minutes, cfg.data, cfg.configs, cfg.threads = args.minutes, args.data, args.configs, args.threads
            cfg.nice, cfg.checkpoint_minutes, cfg.sets = args.nice, args.checkpoint_minutes, args.set
            if cfg.minutes <= 0 or cfg.threads < 1 or cfg.checkpoint_minutes <= 0:
                raise SessionError("--minutes and --checkpoint-minutes must be positive and --threads at least 1")
            for name in cfg.lineages:
                data = cfg.data or Path(run_config(cfg, name).data)
                if not (data if data.is_absolute() else ROOT / data).is_file():
                    raise SessionError(f"no training pack at {data} (python -m training.prepare path/to/ferplus -o {data})")
            if not train_all(cfg):
                log("stopped without finishing; the runs resume next time")
                return 1
        finish(cfg)
    except (SessionError, ConfigError, PackError, GanmutError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log(f"report: {cfg.docs / 'report.md'}; commit weights/ and docs/training/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
