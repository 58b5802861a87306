"""One GPU call that trains, evaluates and ships both served models: ``python -m training.session``.

    python -m training.session check --archive carry/fer2013.tar                  # < 10 s, here and there
    python -m training.session run --archive carry/fer2013.tar --out "$OUT"        # on the GPU machine
    python -m training.session commit DIR                                          # here, on what came back

``run`` does, inside a hard wall-clock deadline (``--minutes``, default 8.5):

1. ``check`` (below), then unpacks the train and test packs from the one carried archive
   (:mod:`training.archive`);
2. a solo throughput probe: the first run alone for a few seconds, to compare one process with all
   runs sharing the GPU (both figures go into the report);
3. trains every run at once, one process each: for each model (linear, Gaussian) and each generator
   output in ``--variants`` (default ``direct`` and the identity-keeping hedge ``residual``). A run
   continues the served model in ``--weights`` when its architecture matches
   (:func:`training.checkpoint.load_continuation`), else starts fresh. Each run fits its schedule
   into the training budget (``training.train --budget-minutes``: 20 s of measuring, then the
   iterations and the learning-rate decay). The evaluation classifier is trained beside them if
   ``--weights`` has none;
4. evaluates every new candidate and the current served file with :mod:`training.evaluate` on a
   class-balanced subset of the test split (``--eval-faces``) and keeps, per model, the best by
   :func:`score` - so better weights are never replaced by worse: if the current file wins, the
   report says so and ``commit`` keeps it;
5. writes at most 8 files to ``--out`` (each at most 16 MiB, 64 MiB in all, no sub-folders; the
   sizes are predicted in ``check`` before any GPU time is spent): ``ganmut-linear.safetensors``,
   ``ganmut-gaussian.safetensors``, ``state.safetensors`` (both discriminators for the next
   continuation, and the classifier if one was trained), ``report.md``, ``report.json``,
   ``samples-linear.png``, ``samples-gaussian.png`` and ``session.log``.

``commit DIR`` copies the winners into ``weights/`` (served files, ``weights/continuation/``, the
classifier if new) and the report and sample sheets into ``docs/training/``, then prints what to
``git add``. This module imports neither Gradio, plotly, facenet-pytorch nor spaces: the GPU
machine has none of them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import CKPT_NAME

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("linear", "gaussian")
VARIANTS = ("direct", "attention", "residual")
APP_PACKAGES = ("gradio", "plotly", "facenet_pytorch", "spaces")
CLASSIFIER = "fer-classifier.safetensors"
STATE = "state.safetensors"
DOCS = ROOT / "docs" / "training"
LIMITS = {"files": 8, "file_bytes": 16 * 2**20, "total_bytes": 64 * 2**20}
TREE_BYTES = 64 * 2**20
"""What the device tool carries: the working tree (tracked and untracked files) plus carried paths."""
IDENTITY_BAR = 0.12
"""Mean |G(x, neutral) - x| on neutral faces that a model must stay under to rank first (issue quality bar)."""
RESERVE = {"evaluate": (0.16, 10.0), "export": (0.03, 12.0), "grace": (0.02, 8.0), "finish": (0.03, 3.0)}
"""(share of the deadline, floor in seconds) kept back after training: evaluating (about 80 s of
8.5 min), each run's own final checkpoint and export, the grace a process gets to save after being
asked to stop (SIGTERM), and writing the outputs. Training processes get the rest, counted from
their start (``training.train --budget-minutes``), start-up included."""


class SessionError(RuntimeError):
    """Something the session cannot go on with (a one-line message)."""


@dataclass
class SessionConfig:
    archive: Path
    out: Path
    minutes: float = 8.5
    weights: Path = ROOT / "weights"
    configs: Path = ROOT / "configs"
    variants: tuple[str, ...] = ("direct", "residual")
    eval_faces: int | None = 2000
    solo_probe_s: float = 20.0
    classifier_width: int = 32
    work: Path | None = None
    device: str = "auto"
    sets: list[str] = field(default_factory=list)

    def served(self, kind: str) -> Path:
        return self.weights / f"ganmut-{kind}.safetensors"


@dataclass
class Run:
    """One training process of the session."""

    kind: str
    variant: str
    config: Path
    out: Path
    export: Path
    log: Path
    continues: str = ""
    proc: subprocess.Popen | None = None
    summary: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.variant}"


# --------------------------------------------------------------------------- logging
class Log:
    """Lines to stdout (flushed: the device tool returns the output's tail) and to ``session.log``."""

    def __init__(self, path: Path | None = None) -> None:
        self.t0 = time.monotonic()
        self.lines: list[str] = []
        self.path = path

    def __call__(self, msg: str) -> None:
        line = f"[{time.monotonic() - self.t0:6.1f}s] {msg}"
        self.lines.append(line)
        print(line, flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


# --------------------------------------------------------------------------- check
def run_configs(cfg: SessionConfig) -> dict[str, object]:
    """The TrainConfig of every run (kind x variant), validated."""
    from .config import load_config, merge, parse_override

    overrides: dict = {}
    for text in cfg.sets:
        merge(overrides, parse_override(text))
    out = {}
    for kind in KINDS:
        path = cfg.configs / f"ganmut-{kind}.toml"
        for variant in cfg.variants:
            c = load_config(path, merge({"generator": {"output": variant}}, json.loads(json.dumps(overrides))))
            if c.kind != kind:
                raise SessionError(f"{path} trains kind {c.kind!r}, expected {kind!r}")
            out[f"{kind}-{variant}"] = c
    return out


def _param_bytes(module, bytes_per: int) -> int:
    return sum(p.numel() for p in module.state_dict().values()) * bytes_per


def predicted_outputs(cfg: SessionConfig, configs: dict) -> dict[str, int]:
    """Upper bounds of the bytes of every output file, from the architectures (before any training)."""
    from ganmut.generator import Generator

    from .checkpoint import discriminator
    from ganmut.classifier import ClassifierConfig, EmotionClassifier

    header = 64 * 1024  # JSON metadata (config, history, evaluation) and the safetensors header
    sizes: dict[str, int] = {}
    state = header
    for kind in KINDS:
        mine = [c for name, c in configs.items() if name.startswith(kind + "-")]
        sizes[f"ganmut-{kind}.safetensors"] = max(_param_bytes(Generator(c.generator_config()), 2) for c in mine) + header
        state += max(_param_bytes(discriminator(c), 2) for c in mine)
        sizes[f"samples-{kind}.png"] = 2 * 2**20
    if not (cfg.weights / CLASSIFIER).is_file():
        state += _param_bytes(EmotionClassifier(ClassifierConfig(width=cfg.classifier_width)), 4)
    sizes[STATE] = state
    sizes.update({"report.md": 256 * 1024, "report.json": 256 * 1024, "session.log": 2 * 2**20})
    return sizes


def check_limits(sizes: dict[str, int]) -> None:
    if len(sizes) > LIMITS["files"]:
        raise SessionError(f"{len(sizes)} output files; the device returns at most {LIMITS['files']}")
    for name, n in sizes.items():
        if n > LIMITS["file_bytes"]:
            raise SessionError(f"{name} would be {n / 2**20:.1f} MiB; the device returns files of at most 16 MiB")
    total = sum(sizes.values())
    if total > LIMITS["total_bytes"]:
        raise SessionError(f"the outputs would total {total / 2**20:.1f} MiB; the device returns at most 64 MiB")


def tree_bytes(root: Path, archive: Path) -> int | None:
    """Bytes the device tool would carry: tracked and untracked-not-ignored files, plus the archive
    (None outside a git checkout, as on the device machine, which receives the tree without git)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                                capture_output=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = {root / f for f in listed.decode().split("\0") if f}
    return sum(f.stat().st_size for f in files if f.is_file()) + archive.stat().st_size


def imports_of_training_path() -> list[str]:
    """The app's packages that importing the whole training path loads, in a fresh interpreter."""
    code = ("import sys; import training.classifier, training.evaluate, training.export, training.session, training.train; "
            f"print(','.join(m for m in {APP_PACKAGES!r} if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if res.returncode:
        raise SessionError(f"the training path does not import: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
    return [m for m in res.stdout.strip().split(",") if m]


def check(cfg: SessionConfig, log: Log) -> dict:
    """Validate everything a run needs without training; raises SessionError with one line."""
    from . import archive as archive_mod
    from .checkpoint import load_continuation

    try:
        manifest = archive_mod.check(cfg.archive)
    except archive_mod.ArchiveError as e:
        raise SessionError(str(e)) from None
    log(f"archive {cfg.archive.name}: intact, {manifest['encoding']}, "
        + ", ".join(f"{s} {v['n']} faces (PSNR {v['psnr_db']} dB)" for s, v in manifest["splits"].items()))
    unknown = [v for v in cfg.variants if v not in VARIANTS]
    if unknown or not cfg.variants:
        raise SessionError(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    if cfg.minutes <= 0:
        raise SessionError(f"--minutes must be positive, got {cfg.minutes}")
    try:
        configs = run_configs(cfg)
    except ValueError as e:  # ConfigError
        raise SessionError(str(e)) from None
    plan = {}
    for name, c in configs.items():
        state, why = load_continuation(cfg.served(c.kind), c)
        plan[name] = why if state is not None else f"fresh ({why})"
        log(f"run {name}: {plan[name]}")
    if not any(why.startswith("continuing") for name, why in plan.items()) and any(cfg.served(k).is_file() for k in KINDS):
        log("note: served weights exist but no run continues them (architecture changed); they still compete in the evaluation")
    sizes = predicted_outputs(cfg, configs)
    check_limits(sizes)
    log(f"outputs: {len(sizes)} files, at most {max(sizes.values()) / 2**20:.1f} MiB each, "
        f"{sum(sizes.values()) / 2**20:.1f} MiB in all (limits 8, 16 MiB, 64 MiB)")
    tree = tree_bytes(ROOT, cfg.archive)
    if tree is not None:
        if tree > TREE_BYTES:
            raise SessionError(f"the working tree with the archive is {tree / 2**20:.1f} MiB; the device carries at most 64 MiB")
        log(f"working tree + archive: {tree / 2**20:.1f} MiB of the 64 MiB the device carries")
    loaded = imports_of_training_path()
    if loaded:
        raise SessionError(f"the training path imports {', '.join(loaded)}, which the GPU machine lacks")
    import torch

    log(f"imports: the training path loads without {', '.join(APP_PACKAGES)}; torch {torch.__version__}, "
        + (f"CUDA: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no CUDA"))
    return {"plan": plan, "predicted_bytes": sizes, "tree_bytes": tree, "archive": manifest}


# --------------------------------------------------------------------------- runs
def _train_cmd(cfg: SessionConfig, run: Run, data: Path, budget_min: float) -> list[str]:
    cmd = [sys.executable, "-m", "training.train", "--config", str(run.config), "--data", str(data), "--out", str(run.out),
           "--budget-minutes", f"{budget_min:.3f}", "--max-minutes", f"{budget_min:.3f}", "--no-progress",
           "--device", cfg.device, "--export", str(run.export), "--set", f'generator.output="{run.variant}"']
    for text in cfg.sets:
        cmd += ["--set", text]
    if run.continues.startswith("continuing"):
        cmd += ["--continue-from", str(cfg.served(run.kind))]
    return cmd


def _start(cmd: list[str], log_path: Path, share: int = 1) -> subprocess.Popen:
    """Start a child process logging to ``log_path``; ``share`` processes split the CPU cores between them."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // (share + 1))))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with open(log_path, "wb") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=env)


def _tail(path: Path, n: int = 40) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []


def _summary_of(path: Path) -> dict:
    """Throughput facts from a train log's last lines ("done: ... = N images/s", "budget: measured ...")."""
    out: dict = {}
    for line in _tail(path, 200):
        if line.startswith("done:"):
            out["done"] = line
            try:
                out["images_per_s"] = float(line.split(" images/s")[0].rsplit("= ", 1)[1])
            except (IndexError, ValueError):
                pass
        elif line.startswith("budget:"):
            out["schedule"] = line
        elif line.startswith(("continuing", "starting fresh")):
            out["start"] = line
    return out


def _wait(procs: list[tuple[str, subprocess.Popen]], until: float, log: Log, grace: float) -> None:
    """Wait for every process until ``until`` (seconds of the log clock); then ask what still runs to stop
    (SIGTERM: it finishes its step, saves and exits) and kill what has not stopped ``grace`` seconds later."""
    for name, p in procs:
        try:
            p.wait(timeout=max(0.1, until - log.elapsed()))
        except subprocess.TimeoutExpired:
            p.terminate()
            log(f"{name}: asked to stop at the deadline")
    for name, p in procs:
        try:
            p.wait(timeout=max(0.1, until + grace - log.elapsed()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            log(f"{name}: killed {grace:.0f} s after the deadline")
        if p.returncode:
            log(f"{name}: exited with status {p.returncode}")


def solo_probe(cfg: SessionConfig, run: Run, data: Path, log: Log) -> dict:
    """Train the first run alone for ``solo_probe_s`` seconds of training and read its images/s."""
    probe = Run(run.kind, run.variant, run.config, run.out.parent / "solo-probe", run.export.parent / "solo-probe.safetensors",
                run.log.parent / "solo-probe.log", "fresh")
    cmd = _train_cmd(cfg, probe, data, cfg.solo_probe_s / 60)
    p = _start(cmd, probe.log)
    _wait([("solo probe", p)], log.elapsed() + cfg.solo_probe_s * 2 + 60, log, grace=10)
    result = _summary_of(probe.log)
    log(f"solo probe ({probe.name}, one process alone): {result.get('images_per_s', 'n/a')} images/s")
    return result


# --------------------------------------------------------------------------- choosing
def score(result: dict) -> tuple[bool, float]:
    """Rank of an evaluated model: first whether it keeps identity (mean |G(x, neutral) - x| on neutral faces
    at most ``IDENTITY_BAR``), then the mean accuracy of full-intensity edits over the six non-neutral emotions."""
    from ganmut.emotions import EMOTIONS

    ident = result["identity"]["neutral_code_l1_on_neutral_faces"]
    acc = [result["accuracy"][e] for e in EMOTIONS[1:]]
    return (ident is not None and ident <= IDENTITY_BAR, sum(acc) / len(acc))


def anchor_spread(path: Path) -> dict:
    """How spread out a served model's learned anchors are (collapsing modes or directions show here first):
    the mean distance of the six emotion anchors from the neutral one and the smallest distance between two
    of them."""
    import torch

    from ganmut.checkpoint import load_checkpoint

    a = load_checkpoint(path).space.anchors().detach()
    emo = a[1:] - a[:1]
    d = torch.cdist(emo, emo) + torch.eye(len(emo)) * 1e9
    return {"mean_from_neutral": round(float(emo.norm(dim=1).mean()), 4), "min_between": round(float(d.min()), 4)}


def choose(kind: str, candidates: dict[str, dict], current: str | None) -> dict:
    """Pick the best of a kind's evaluated candidates (name -> result); ``current`` names the served file's entry."""
    ranked = sorted(candidates, key=lambda n: score(candidates[n]), reverse=True)
    best_new = next(n for n in ranked if n != current)
    keep = current is not None and ranked[0] == current
    return {
        "kind": kind,
        "best_new": best_new,
        "verdict": "keep-current" if keep else "replace",
        "ranking": [{"name": n, "keeps_identity": score(candidates[n])[0], "mean_accuracy_6": round(score(candidates[n])[1], 4),
                     "anchors": anchor_spread(Path(n))} for n in ranked],
    }


# --------------------------------------------------------------------------- the session
def run_session(cfg: SessionConfig) -> dict:
    """The whole GPU session (module docs); returns the report dict (also written to ``cfg.out``)."""
    log = Log()
    deadline = cfg.minutes * 60
    reserve = {k: max(share * deadline, floor) for k, (share, floor) in RESERVE.items()}
    checked = check(cfg, log)
    work = Path(cfg.work or tempfile.mkdtemp(prefix="ganmut-session-"))
    (work / "logs").mkdir(parents=True, exist_ok=True)
    from ganmut.devices import pick_device

    from . import archive
    from .evaluate import machine_info

    packs = archive.extract(cfg.archive, work / "data")
    log(f"unpacked {', '.join(f'{k} -> {v}' for k, v in packs.items())}")

    configs = run_configs(cfg)
    runs = [Run(c.kind, c.generator["output"], cfg.configs / f"ganmut-{c.kind}.toml", work / "runs" / name,
                work / "candidates" / f"{name}.safetensors", work / "logs" / f"{name}.log", checked["plan"][name])
            for name, c in configs.items()]
    probe = solo_probe(cfg, runs[0], packs["train"], log) if cfg.solo_probe_s > 0 else {}

    train_s = deadline - log.elapsed() - sum(reserve.values())
    if train_s < 0.35 * deadline:
        raise SessionError(f"only {train_s:.0f} s of {deadline:.0f} are left for training; raise --minutes")
    procs = []
    classifier_path = cfg.weights / CLASSIFIER
    share = len(runs) + (not classifier_path.is_file())
    for run in runs:
        run.proc = _start(_train_cmd(cfg, run, packs["train"], train_s / 60), run.log, share)
        procs.append((run.name, run.proc))
    log(f"training {len(runs)} runs at once, {train_s:.0f} s each from start-up to the end of training: "
        f"{', '.join(r.name for r in runs)}")
    trained_classifier = None
    if not classifier_path.is_file():
        trained_classifier = work / CLASSIFIER
        cmd = [sys.executable, "-m", "training.classifier", "--data", str(packs["train"]), "--test", str(packs["test"]),
               "--out", str(trained_classifier), "--width", str(cfg.classifier_width), "--epochs", "200",
               "--max-minutes", f"{train_s / 60:.3f}", "--device", cfg.device]
        procs.append(("classifier", _start(cmd, work / "logs" / "classifier.log", share)))
        classifier_path = trained_classifier
        log(f"training the evaluation classifier beside them ({cfg.weights / CLASSIFIER} is missing)")
    _wait(procs, deadline - reserve["evaluate"] - reserve["finish"] - reserve["grace"], log, reserve["grace"])
    for run in runs:
        run.summary = {"start": run.continues} | _summary_of(run.log)
        if not run.export.is_file() and (run.out / CKPT_NAME).is_file():  # stopped after its last checkpoint
            from .export import export

            export(run.out, run.export)
            log(f"{run.name}: exported here from its last checkpoint")
        log(f"{run.name}: {run.summary.get('start', '')} | {run.summary.get('schedule', 'no schedule')} | "
            f"{run.summary.get('done', 'did not finish')}")
    done = [r for r in runs if r.export.is_file()]
    if not done:
        raise SessionError("no run finished; nothing to return (see the run logs in the work folder)")
    concurrent = sum(r.summary.get("images_per_s", 0.0) for r in runs)
    log(f"throughput: {concurrent:.0f} images/s in total over {len(runs)} concurrent runs"
        + (f" against {probe['images_per_s']:.0f} images/s for one run alone" if "images_per_s" in probe else ""))

    try:
        if not classifier_path.is_file():
            raise SessionError("no evaluation classifier: its training did not finish")
        report = evaluate_and_choose(cfg, done, packs["test"], classifier_path, work, deadline - reserve["finish"], log)
    except Exception as e:  # the session returns what it trained whatever goes wrong in judging it
        log(f"evaluation failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); returning the new models unevaluated")
        report = unevaluated(cfg, done, log)
    report.update({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "minutes": cfg.minutes,
        "check": {k: v for k, v in checked.items() if k != "archive"},
        "archive": {"encoding": checked["archive"]["encoding"],
                    "splits": {s: {"n": v["n"], "psnr_db": v["psnr_db"]} for s, v in checked["archive"]["splits"].items()}},
        "throughput": {"solo_images_per_s": probe.get("images_per_s"), "concurrent_total_images_per_s": round(concurrent, 1),
                       "runs": {r.name: r.summary for r in runs}},
        "classifier_trained": trained_classifier is not None and trained_classifier.is_file(),
        "machine": machine_info(pick_device(cfg.device)),
    })
    write_outputs(cfg, report, {r.name: r for r in runs}, trained_classifier if report["classifier_trained"] else None, log)
    return report


def evaluate_and_choose(cfg: SessionConfig, done: list[Run], test: Path, classifier: Path, work: Path, until: float, log: Log) -> dict:
    """Evaluate every finished run and the current served files; choose per kind (see :func:`choose`)."""
    from .evaluate import EvalConfig, run as evaluate

    models = [r.export for r in done] + [cfg.served(k) for k in KINDS if cfg.served(k).is_file()]
    current = {k: str(cfg.served(k)) for k in KINDS if cfg.served(k).is_file()}
    log(f"evaluating {len(models)} models on {cfg.eval_faces or 'all'} test faces ({len(done)} new, {len(current)} current)")
    metrics = evaluate(EvalConfig(models=models, data=test, classifier=classifier, out=work / "eval", limit=cfg.eval_faces,
                                  device=cfg.device, progress=False, figures=False))
    log(f"evaluated in {metrics['seconds']} s" + (" (past the evaluation reserve)" if log.elapsed() > until else ""))
    by_path = {r["path"]: (name, r) for name, r in metrics["models"].items()}
    choices = {}
    for kind in KINDS:
        cands = {str(r.export): by_path[str(r.export)][1] for r in done if r.kind == kind and str(r.export) in by_path}
        cur = current.get(kind)
        if cur is not None and cur in by_path:
            cands[cur] = by_path[cur][1]
        if not [c for c in cands if c != cur]:
            log(f"{kind}: no new candidate finished")
            continue
        choices[kind] = choose(kind, cands, cur)
        c = choices[kind]
        ranking = ", ".join(f"{Path(x['name']).stem} {x['mean_accuracy_6']:.3f}" for x in c["ranking"])
        log(f"{kind}: best new {Path(c['best_new']).stem}; verdict {c['verdict']} ({ranking})")
    return {"evaluation": metrics, "choices": choices}


def unevaluated(cfg: SessionConfig, done: list[Run], log: Log) -> dict:
    """Choices without an evaluation: per model the first finished variant (in ``--variants`` order); it
    replaces the served file only where there is none (unjudged weights never replace judged ones)."""
    choices = {}
    for kind in KINDS:
        runs = sorted((r for r in done if r.kind == kind), key=lambda r: cfg.variants.index(r.variant))
        if runs:
            verdict = "keep-current" if cfg.served(kind).is_file() else "replace"
            choices[kind] = {"kind": kind, "best_new": str(runs[0].export), "verdict": verdict, "ranking": []}
            log(f"{kind}: {runs[0].name} returned unevaluated; verdict {verdict}")
    return {"evaluation": None, "choices": choices}


def write_outputs(cfg: SessionConfig, report: dict, runs: dict[str, Run], classifier: Path | None, log: Log) -> None:
    """The (at most 8) files of ``cfg.out`` (module docs), their sizes checked against the device's limits."""
    import torch

    from ganmut.checkpoint import read_safetensors, write_safetensors

    from .checkpoint import CONTINUATION_KEY, continuation_path
    from ganmut.classifier import META_KEY as CLASSIFIER_KEY
    from .report import markdown

    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    state_meta: dict = {}
    for kind, choice in report["choices"].items():
        best = Path(choice["best_new"])
        run = runs[best.stem]
        shutil.copyfile(best, out / f"ganmut-{kind}.safetensors")
        meta, t = read_safetensors(continuation_path(best), key=CONTINUATION_KEY, what="a continuation state")
        tensors.update({f"{kind}.{k}": v for k, v in t.items()})
        state_meta[kind] = meta
        samples = sorted((run.out / "samples").glob("iter-*.png"))
        if samples:
            shutil.copyfile(samples[-1], out / f"samples-{kind}.png")
    if classifier is not None:
        meta, t = read_safetensors(classifier, key=CLASSIFIER_KEY, what="an emotion classifier")
        tensors.update({f"classifier.{k}": v for k, v in t.items()})
        state_meta["classifier"] = meta
    if tensors:
        write_safetensors(out / STATE, tensors, state_meta, key="ganmut_session_state")
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    evaluation = markdown(report["evaluation"]) if report["evaluation"] else "# Evaluation\n\nNot evaluated (see session.log).\n"
    (out / "report.md").write_text(session_markdown(report) + "\n" + evaluation)
    log(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}")
    for run in runs.values():  # the run logs' tails, so a failure can be read from the one log file
        log(f"--- {run.name} log (last lines) ---\n" + "\n".join(_tail(run.log, 15)))
    (out / "session.log").write_text("\n".join(log.lines) + "\n")
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    check_limits(sizes)
    log(f"outputs within the device limits: {len(sizes)} files, {sum(sizes.values()) / 2**20:.1f} MiB")


def session_markdown(report: dict) -> str:
    """The session part of ``report.md``: what ran, how fast, and what was chosen."""
    t = report["throughput"]
    lines = ["# GPU training session", "", f"- date: {report['date']}; deadline {report['minutes']} min",
             f"- machine: {report['machine']}",
             f"- data: {report['archive']['encoding']}; "
             + ", ".join(f"{s} {v['n']} faces (PSNR {v['psnr_db']} dB)" for s, v in report["archive"]["splits"].items()),
             f"- throughput: {t['concurrent_total_images_per_s']} images/s in total over {len(t['runs'])} concurrent processes"
             + (f"; one process alone: {t['solo_images_per_s']} images/s" if t["solo_images_per_s"] else ""),
             "", "| run | start | schedule | result |", "|---|---|---|---|"]
    for name, s in t["runs"].items():
        lines.append(f"| {name} | {s.get('start', '')} | {s.get('schedule', '')} | {s.get('done', 'did not finish')} |")
    lines += ["", "| model | verdict | ranking (keeps identity, mean accuracy of the 6 emotions, anchor spread) |",
              "|---|---|---|"]
    for kind, c in report["choices"].items():
        rank = "; ".join(f"{Path(r['name']).stem}: {r['keeps_identity']}, {r['mean_accuracy_6']:.3f}, anchors "
                         f"{r['anchors']['mean_from_neutral']:.2f} from neutral, {r['anchors']['min_between']:.2f} apart"
                         for r in c["ranking"])
        lines.append(f"| {kind} | {c['verdict']} ({Path(c['best_new']).stem}) | {rank} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- commit
def commit(src: Path, weights: Path = ROOT / "weights", docs: Path = DOCS) -> list[Path]:
    """Apply what a session returned: winners to ``weights/`` (served file + continuation), a new classifier,
    the report and sample sheets to ``docs``. Returns the written paths."""
    from ganmut.checkpoint import load_checkpoint, read_safetensors, write_safetensors
    from ganmut.errors import CheckpointError
    from ganmut.files import atomic_path

    from .checkpoint import CONTINUATION_KEY, continuation_path
    from ganmut.classifier import META_KEY as CLASSIFIER_KEY
    from ganmut.classifier import load_classifier

    try:
        report = json.loads((src / "report.json").read_text())
        state_meta, tensors = read_safetensors(src / STATE, key="ganmut_session_state", what="a session state")
    except (OSError, json.JSONDecodeError, CheckpointError) as e:
        raise SessionError(f"{src} does not hold a session's output: {e}") from None
    written = []
    for kind, choice in report["choices"].items():
        if choice["verdict"] != "replace":
            print(f"{kind}: the current weights scored better; kept")
            continue
        served = weights / f"ganmut-{kind}.safetensors"
        load_checkpoint(src / served.name)  # refuse a broken file before touching weights/
        d = {k[len(kind) + 1:]: v for k, v in tensors.items() if k.startswith(kind + ".")}
        write_safetensors(continuation_path(served), d, state_meta[kind], key=CONTINUATION_KEY)
        with atomic_path(served) as tmp:
            shutil.copyfile(src / served.name, tmp)
        written += [served, continuation_path(served)]
    if "classifier" in state_meta and not (weights / CLASSIFIER).is_file():
        c = {k[len("classifier."):]: v for k, v in tensors.items() if k.startswith("classifier.")}
        path = write_safetensors(weights / CLASSIFIER, c, state_meta["classifier"], key=CLASSIFIER_KEY)
        load_classifier(path)
        written.append(path)
    docs.mkdir(parents=True, exist_ok=True)
    for name in ("report.md", "report.json", "samples-linear.png", "samples-gaussian.png", "session.log"):
        if (src / name).is_file():
            shutil.copyfile(src / name, docs / name)
            written.append(docs / name)
    return written


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.session",
        description="Train, evaluate and ship both served models in one GPU call; check it beforehand; commit what came back.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The device call is in weights/README.md. examples:\n"
        "  python -m training.session check --archive carry/fer2013.tar\n"
        "  python -m training.session run --archive carry/fer2013.tar --out \"$OUT\"\n"
        "  python -m training.session commit /path/to/returned/files",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("check", "validate archive, configs, continuation, output limits and imports (< 10 s)"),
                       ("run", "the whole session (runs `check` first)")):
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("--archive", type=Path, required=True, help="data archive (python -m training.archive build)")
        s.add_argument("--weights", type=Path, default=SessionConfig.weights, help="served weights to continue (default weights/)")
        s.add_argument("--configs", type=Path, default=SessionConfig.configs,
                       help="folder with ganmut-linear.toml and ganmut-gaussian.toml (default configs/)")
        s.add_argument("--variants", default=",".join(SessionConfig.variants),
                       help=f"generator outputs trained for each model, comma-separated, of {', '.join(VARIANTS)} (default direct,residual)")
        s.add_argument("--minutes", type=float, default=SessionConfig.minutes, help="hard deadline of the whole session (default 8.5)")
        s.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override for every run")
        if name == "run":
            s.add_argument("--out", type=Path, required=True, help="output folder ($OUT on the device)")
            s.add_argument("--eval-faces", type=int, default=SessionConfig.eval_faces,
                           help="class-balanced test faces per evaluation (default 2000; 0 = the whole test split)")
            s.add_argument("--solo-probe", type=float, default=SessionConfig.solo_probe_s, metavar="SECONDS",
                           help="train the first run alone this long first, to compare one process with all at once (0: skip)")
            s.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new temporary one)")
            s.add_argument("--classifier-width", type=int, default=SessionConfig.classifier_width,
                           help="width of the evaluation classifier trained when --weights has none (default 32)")
            s.add_argument("--device", default="auto", help="auto (default), cuda, cpu")
    c = sub.add_parser("commit", help="copy a session's winners into weights/ and its report into docs/training/")
    c.add_argument("dir", type=Path, help="the folder the device call's files came back to")
    c.add_argument("--weights", type=Path, default=SessionConfig.weights, help="where the winners go (default weights/)")
    c.add_argument("--docs", type=Path, default=DOCS, help="where the report and sample sheets go (default docs/training/)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "commit":
            for path in commit(args.dir, args.weights, args.docs):
                print(f"wrote {path}")
            print("now: git add weights docs/training, complete the model card in weights/README.md from report.md, and commit")
            return 0
        cfg = SessionConfig(archive=args.archive, out=getattr(args, "out", Path(".")), minutes=args.minutes, weights=args.weights,
                            configs=args.configs, variants=tuple(v for v in args.variants.split(",") if v), sets=args.set)
        if args.command == "check":
            check(cfg, Log())
            print("check passed")
            return 0
        cfg.eval_faces = args.eval_faces or None
        cfg.solo_probe_s, cfg.work, cfg.device = args.solo_probe, args.work, args.device
        cfg.classifier_width = args.classifier_width
        report = run_session(cfg)
    except SessionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    verdicts = ", ".join(f"{k} {c['verdict']}" for k, c in report["choices"].items())
    print(f"session done: {verdicts}; files in {cfg.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
