"""Load and soak benchmark of the app on loopback: ``python -m benchmarks.bench_load [--model default|tiny]``.

Starts the real app (``python app.py``, as the tests do: tests/appserver.py) on 127.0.0.1 with
generators of the default architecture (64 px, conv_dim 64, 6 residual blocks) and RANDOM weights
(``--model tiny``: the tests' tiny checkpoints), both written through ``save_checkpoint``, so only
the timings and the resources mean anything, not the pictures. Face detection (MTCNN) is real.
Every loop is bounded by a count, every request by a timeout; nothing leaves 127.0.0.1.

1. API throughput: 1 gradio_client client, then 8 at once, each calling ``/edit_xy`` on
   obama.jpg (910x1137; uploaded with every call): errors, latency p50/p95, edits per second.
2. Fairness: a UI-style client (tests/uiclient.py: the page's own HTTP protocol, inputs and
   outputs named by the elem_id of their components) clicks the wheel, first on an idle server,
   then while 6 API clients call ``/edit_xy`` without pause: its p50/p95 and the ratio of the p95s.
3. Flood (issue #33): a page session holds a clip and a photo while one API client calls
   ``/edit_emotion`` ``--flood`` times on a 4000x3000 photo: RSS and the temporary folder, whether the
   page's files are still there, and the page's clip edited after it.
4. Soak: 4 browser sessions (with their heartbeats) edit 20 distinct photos (tests/data/photos,
   assets/examples and two enlarged copies, 12 and 35 megapixels), 500 edits in all (a photo
   upload is one edit, a wheel click one more); the server's RSS and its temporary folder are
   sampled every second; then the sessions end (heartbeats closed) and RSS is followed for
   ``--after-s`` seconds. Targets: 0 errors, UI p95 under load <= 2x idle p95, RSS back within
   300 MB of the warm baseline within 5 minutes, temporary folder <= 500 MB throughout.

Every call must succeed (an API call returns a PNG; an upload or a click answers "Edited ..."):
the first that does not ends the phase, and the run stops with its error, the server log's tail
and exit status 1.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from tests import appserver  # noqa: E402
from tests.uiclient import Reply, UISession  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "tests" / "data" / "photos"
EXAMPLES = ROOT / "assets" / "examples"
API_PHOTO = PHOTOS / "obama.jpg"
MB = 1024 * 1024
TIMEOUT_S = 300


def build_models(folder: Path, kind: str) -> tuple[Path, Path]:
    """Linear and Gaussian checkpoints with random weights, through ``save_checkpoint``."""
    from tests.helpers import make_tiny_checkpoint

    from ganmut.align import FER2013_TEMPLATE
    from ganmut.checkpoint import save_checkpoint
    from ganmut.generator import Generator, GeneratorConfig
    from ganmut.spaces import make_space

    paths = []
    for space_kind in ("linear", "gaussian"):
        path = folder / f"bench-{space_kind}.safetensors"
        if kind == "tiny":
            paths.append(make_tiny_checkpoint(path, space_kind))
            continue
        torch.manual_seed(0)
        space = make_space(space_kind)
        gen = Generator(GeneratorConfig(image_size=64, channels=1, code_dim=space.dim))
        paths.append(save_checkpoint(path, gen, space, FER2013_TEMPLATE.tolist(), training={"note": "random weights, benchmark only"}))
    return paths[0], paths[1]


def soak_photos(folder: Path) -> list[Path]:
    """20 distinct photos with a face: the committed ones and two enlarged copies (12 and 35 MP)."""
    lfw = ["Chante_Jawan_Mallard_0001", "Erika_Harold_0002", "George_Gregan_0001", "George_W_Bush_0132",
           "Jelena_Dokic_0001", "Lleyton_Hewitt_0006", "Mike_Weir_0007", "Roh_Moo-hyun_0032", "Jayamadhuri_107"]
    photos = sorted(EXAMPLES.glob("*.jpg")) + [PHOTOS / n for n in ("obama.jpg", "obama2.jpg", "biden.jpg", "32bit.png")]
    photos += [PHOTOS / "lfw" / f"{n}.jpg" for n in lfw]
    with Image.open(PHOTOS / "obama.jpg") as src:
        rgb = src.convert("RGB")
    for megapixels in (12, 35):
        scale = (megapixels * 1e6 / (rgb.width * rgb.height)) ** 0.5
        path = folder / f"obama-{megapixels}mp.jpg"
        rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BICUBIC).save(path, quality=85)
        photos.append(path)
    assert len(photos) == 20 and len({p.read_bytes() for p in photos}) == 20
    return photos


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """(CPU seconds the whole machine has been busy, CPU seconds of the processes ``pids``), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    own = sum(sum(int(v) for v in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]) for pid in pids)
    return busy / tick, own / tick


def folder_mb(folder: Path) -> float:
    """Disk use of a folder (allocated blocks), as du counts it."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total / MB


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


@dataclass
class Calls:
    """Latencies and errors of a set of calls, and their wall time; ``failed`` is set by the first error."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    failed: threading.Event = field(default_factory=threading.Event)

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            (self.errors.append(error) if error else self.latencies.append(seconds))
        if error:
            self.failed.set()

    def row(self, name: str) -> str:
        n = len(self.latencies)
        rate = n / self.wall_s if self.wall_s else 0.0
        p50 = statistics.median(self.latencies) if n else float("nan")
        p95 = pct(self.latencies, 0.95) if n else float("nan")
        return f"| {name} | {n} | {len(self.errors)} | {p50:.2f} s | {p95:.2f} s | {rate:.2f} /s |"


class Server:
    """The app under test and what is sampled of it."""

    def __init__(self, workdir: Path, linear: Path, gaussian: Path) -> None:
        self.srv = appserver.start(workdir, linear, gaussian)
        self.pid = self.srv.proc.pid
        self.samples: list[tuple[float, float, float]] = []  # (time, RSS MB, temp MB)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append((time.monotonic(), rss_mb(self.pid), folder_mb(self.srv.gradio_tmp)))

    def stop(self) -> None:
        self._stop.set()
        self._sampler.join(10)
        appserver.stop()


def api_worker(url: str, downloads: Path, calls: Calls, count: int | None, stop: threading.Event,
               photo: Path = API_PHOTO, seed: int = 0) -> None:
    """One gradio_client client calling /edit_xy ``count`` times, or until ``stop``."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=str(downloads), analytics_enabled=False)
    rng = random.Random(seed)
    n = 0
    while (count is None or n < count) and not stop.is_set() and not calls.failed.is_set():
        t = time.perf_counter()
        try:
            out = client.predict(handle_file(str(photo)), rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), "linear", "0",
                                 api_name="/edit_xy")
            Path(out).unlink(missing_ok=True)
            calls.add(time.perf_counter() - t, None)
        except Exception as e:  # every failure is counted and shown
            calls.add(0.0, f"{type(e).__name__}: {str(e)[:150]}")
        n += 1
    client.close()


def run_api(url: str, downloads: Path, clients: int, per_client: int) -> Calls:
    calls = Calls()
    stop = threading.Event()
    t = time.perf_counter()
    threads = [threading.Thread(target=api_worker, args=(url, downloads, calls, per_client, stop), kwargs={"seed": i})
               for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(TIMEOUT_S * per_client)
    calls.wall_s = time.perf_counter() - t
    return calls


def edited(reply: Reply, what: str) -> str | None:
    """None when an event edited the photo (its status says so), else what went wrong."""
    if reply.success and str(reply.named.get("status")).startswith("Edited"):
        return None
    return f"{what}: {reply.error or reply.named.get('status') or reply.toasts}"[:200]


def click(tab: UISession, rng: random.Random, seq: int) -> tuple[float, str | None]:
    """One wheel click as the page sends it (its point and number): seconds, error."""
    x, y = rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7)
    t = time.perf_counter()
    reply = tab.run("wheel", "click", {"model": "linear", "face": "0", "whole": False}, {"x": x, "y": y, "seq": seq})
    return time.perf_counter() - t, edited(reply, "click")


def upload(tab: UISession, photo: Path) -> tuple[float, str | None]:
    """A new photo, as the page sends it (the upload, then the change event): seconds, error."""
    t = time.perf_counter()
    inputs = {"photo": tab.upload(photo), "model": "linear", "whole": False, "emotion": "happy", "intensity": 1.0}
    reply = tab.run("photo", "change", inputs)
    return time.perf_counter() - t, edited(reply, photo.name)


def run_ui(url: str, clicks: int, think_s: float, seed: int) -> Calls:
    calls = Calls()
    rng = random.Random(seed)
    tab = UISession(url, TIMEOUT_S)
    tab.open()
    _, error = upload(tab, API_PHOTO)
    if error:
        calls.add(0.0, error)
    t = time.perf_counter()
    for seq in range(1, clicks + 1):
        if calls.failed.is_set():
            break
        calls.add(*click(tab, rng, seq))
        time.sleep(think_s)
    calls.wall_s = time.perf_counter() - t
    tab.close()
    return calls


def soak(url: str, photos: list[Path], edits: int, sessions: int) -> tuple[Calls, list[UISession]]:
    """``sessions`` browser sessions editing ``photos`` (split among them) ``edits`` times in all:
    the large photos a few times each, the rest evenly. The sessions are left open."""
    heavy = {p: 3 for p in photos if Image.open(p).width * Image.open(p).height > 4e6}
    light = [p for p in photos if p not in heavy]
    base, extra = divmod(edits - sum(heavy.values()), len(light))
    plan = {**heavy, **{p: base + (i < extra) for i, p in enumerate(light)}}
    calls = Calls()
    tabs = [UISession(url, TIMEOUT_S) for _ in range(sessions)]

    def work(i: int) -> None:
        tab, rng = tabs[i], random.Random(100 + i)
        tab.open()
        seq = 0
        for photo in photos[i::sessions]:
            calls.add(*upload(tab, photo))
            for _ in range(plan[photo] - 1):
                if calls.failed.is_set():
                    return
                seq += 1
                calls.add(*click(tab, rng, seq))

    t = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(sessions)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(TIMEOUT_S * edits)
    calls.wall_s = time.perf_counter() - t
    return calls, tabs


def flood(server: Server, url: str, folder: Path, calls_n: int) -> tuple[Calls, list[str]]:
    """Issue #33's flood: a page session holds a clip and a photo while one gradio_client client calls
    ``/edit_emotion`` ``calls_n`` times on a 4000x3000 photo (each result a PNG of about 20 MB). Its
    calls and what it found: the page's files still there, and the page's clip edited after the flood
    (an error of the page's is a failed call, the run stops)."""
    from gradio_client import Client, handle_file

    from tests.clips import PHOTOS_OBAMA, face_frames, write_clip

    big = folder / "flood-12mp.jpg"
    with Image.open(API_PHOTO) as src:
        canvas = Image.new("RGB", (4000, 3000), (120, 130, 140))
        canvas.paste(src.convert("RGB").resize((1920, 2400), Image.Resampling.BILINEAR), (1040, 300))
    canvas.save(big, quality=85)
    page = UISession(url, TIMEOUT_S)
    page.open()
    clip = page.upload(write_clip(folder / "flood-clip.mp4", face_frames(PHOTOS_OBAMA, 12)))
    held = page.run("clip", "change", {"clip": clip, "model": "linear"})
    photo = page.upload(API_PHOTO)
    shown = page.run("photo", "change", {"photo": photo, "model": "linear", "whole": False, "emotion": "happy",
                                          "intensity": 1.0})
    calls = Calls()
    for reply, what in ((held, "the page's clip"), (shown, "the page's photo")):
        if not reply.success or "⚠️" in str(reply.named):
            calls.add(0.0, f"{what}: {reply.error or reply.named}"[:200])
    client = Client(url, verbose=False, download_files=str(folder / "downloads"), analytics_enabled=False)
    refused: list[str] = []
    t = time.perf_counter()
    for _ in range(calls_n if not calls.failed.is_set() else 0):
        start = time.perf_counter()
        try:
            Path(client.predict(handle_file(str(big)), "happy", 0.8, "linear", "0", api_name="/edit_emotion")).unlink()
            calls.add(time.perf_counter() - start, None)
        except Exception as e:  # a one-line refusal is counted apart; the flood goes on
            refused.append(str(e).strip().splitlines()[0][:150])
    calls.wall_s = time.perf_counter() - t
    client.close()
    kept = [f"{name}: {'kept' if Path(p['path']).exists() else 'DELETED'}" for name, p in (("clip", clip), ("photo", photo))]
    edit = page.run("clip-btn", "click", {"clip": clip, "model": "linear", "emotion": "happy", "intensity": 1.0,
                                          "clip-path": "point"})
    status = str(edit.named.get("clip-status"))
    kept.append(f"the page's clip edited after the flood: {status.splitlines()[0]}")
    if not status.startswith("Edited"):
        calls.add(0.0, f"the page's clip after the flood: {edit.error or status}"[:200])
    page.close()
    return calls, kept + [f"{len(refused)} calls refused" + (f", e.g. {refused[0]}" if refused else "")]


def check(server: Server, *phases: Calls) -> None:
    """Stop the run, loudly, when a call of ``phases`` failed: its figures would not measure the app."""
    errors = [e for c in phases for e in c.errors]
    if errors:
        for e in sorted(set(errors))[:10]:
            print(f"error: {e}", file=sys.stderr)
        print(f"server log, last lines:\n{server.srv.log_tail()}", file=sys.stderr)
        raise SystemExit(f"{len(errors)} calls failed: the run stops here")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    import gradio

    return (f"{len(os.sched_getaffinity(0))} cores of {os.cpu_count()} ({cpu}), {mem:.0f} GB RAM, torch {torch.__version__}, "
            f"gradio {gradio.__version__}, Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")


def after(server: Server, since: float, seconds: float, baseline: float, report: Callable[[str], None]) -> None:
    """Follow RSS for ``seconds`` after the sessions ended; report marks and when it got within 300 MB."""
    marks = sorted({m for m in (5, 30, 60, 120, 180, 240, 300) if m < seconds} | {round(seconds)})
    within = None
    shown = set()
    while time.monotonic() - since < seconds + 1.5:
        time.sleep(1.0)
        t, rss, tmp = server.samples[-1]
        if within is None and rss - baseline <= 300:
            within = t - since
        for m in marks:
            if m not in shown and t - since >= m:
                shown.add(m)
                report(f"| +{m} s after the sessions ended | RSS {rss:.0f} MB ({rss - baseline:+.0f} MB) | temp {tmp:.0f} MB |")
    report(f"RSS within 300 MB of the warm baseline after: {'%.0f s' % within if within is not None else 'NOT within ' + str(seconds) + ' s'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["default", "tiny"], default="default", help="generator size (random weights)")
    ap.add_argument("--edits", type=int, default=500, help="soak edits in all (default 500)")
    ap.add_argument("--clicks", type=int, default=20, help="UI clicks per fairness measure (default 20)")
    ap.add_argument("--after-s", type=float, default=300.0, help="seconds to follow RSS after the sessions end (default 300)")
    ap.add_argument("--flood", type=int, default=36, help="/edit_emotion calls of the flood on a 12-MP photo (default 36)")
    args = ap.parse_args(argv)

    def report(line: str) -> None:
        print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="ganmut-bench-") as tmp:
        tmp_dir = Path(tmp)
        downloads = tmp_dir / "downloads"
        downloads.mkdir()
        linear, gaussian = build_models(tmp_dir, args.model)
        photos = soak_photos(tmp_dir)
        report(f"machine: {machine()}")
        report(f"model: {args.model} architecture, random weights; server temp folder cap (GANMUT_TEMP_MB): "
               f"{os.environ.get('GANMUT_TEMP_MB', '500')} MB")
        server = Server(tmp_dir / "app", linear, gaussian)
        url = server.srv.url
        cpu_start = cpu_seconds([server.pid, os.getpid()])
        try:
            warm = run_api(url, downloads, 2, 3)
            warm_ui = run_ui(url, 3, 0.0, 7)
            check(server, warm, warm_ui)
            time.sleep(3)
            baseline = server.samples[-1][1]
            report(f"warm baseline RSS: {baseline:.0f} MB (after {len(warm.latencies)} API edits and a UI session)")
            report("\n| phase | calls ok | errors | p50 | p95 | throughput |\n|---|---|---|---|---|---|")
            one = run_api(url, downloads, 1, 20)
            check(server, one)
            report(one.row("API, 1 client x 20"))
            eight = run_api(url, downloads, 8, 12)
            check(server, eight)
            report(eight.row("API, 8 clients x 12"))
            idle = run_ui(url, args.clicks, 0.2, 1)
            check(server, idle)
            report(idle.row(f"UI clicks, idle server (x{args.clicks})"))
            stop = threading.Event()
            load = Calls()
            t = time.perf_counter()
            workers = [threading.Thread(target=api_worker, args=(url, downloads, load, None, stop), kwargs={"seed": 10 + i})
                       for i in range(6)]
            for w in workers:
                w.start()
            time.sleep(5)
            busy = run_ui(url, args.clicks, 0.2, 2)
            stop.set()
            for w in workers:
                w.join(TIMEOUT_S)
            load.wall_s = time.perf_counter() - t
            check(server, busy, load)
            report(busy.row(f"UI clicks, 6 API clients running (x{args.clicks})"))
            report(load.row("API, the 6 clients meanwhile"))
            ratio = pct(busy.latencies, 0.95) / pct(idle.latencies, 0.95) if busy.latencies and idle.latencies else float("nan")
            report(f"\nUI p95 under load / idle p95: {ratio:.2f} (target <= 2)")

            start = time.monotonic()
            flooded, found = flood(server, url, tmp_dir, args.flood)
            check(server, flooded)
            report(flooded.row(f"flood: 1 API client x {args.flood} /edit_emotion on 12 MP, a page holding a clip"))
            during = [s for s in server.samples if s[0] >= start]
            report(f"flood: RSS peak {max(s[1] for s in during):.0f} MB ({max(s[1] for s in during) - baseline:+.0f} MB), "
                   f"temp folder peak {max(s[2] for s in during):.0f} MB; " + "; ".join(found))

            start = time.monotonic()
            calls, tabs = soak(url, photos, args.edits, 4)
            check(server, calls)
            report(calls.row(f"soak: 4 sessions, 20 photos, {args.edits} edits"))
            during = [s for s in server.samples if s[0] >= start]
            report(f"soak: RSS peak {max(s[1] for s in during):.0f} MB ({max(s[1] for s in during) - baseline:+.0f} MB), "
                   f"at its end {during[-1][1]:.0f} MB; temp folder peak {max(s[2] for s in server.samples):.0f} MB")
            cpu_busy, cpu_own = (b - a for a, b in zip(cpu_start, cpu_seconds([server.pid, os.getpid()])))
            report(f"CPU of other processes on the machine from the server's start to the soak's end: "
                   f"{cpu_busy - cpu_own:.0f} core-seconds of {cpu_busy:.0f} busy "
                   f"({(cpu_busy - cpu_own) / max(cpu_busy, 1e-9):.0%})")
            for tab in tabs:
                tab.close()
            ended = time.monotonic()
            after(server, ended, args.after_s, baseline, report)
            report(f"temp folder peak over the whole run: {max(s[2] for s in server.samples):.0f} MB; "
                   f"at the end {server.samples[-1][2]:.0f} MB")
            ok = sum(len(c.latencies) for c in (warm, warm_ui, one, eight, idle, busy, load, flooded, calls))
            report(f"every call succeeded: {ok} calls")
            report(f"load average at the end: {os.getloadavg()[0]:.2f}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
