"""Start the real app (``python app.py``) once per test session, on a free port, with the tiny
fixture checkpoints as its weights and the tiny fixture classifier behind the emotion readout
(tests/webapp/conftest.py's ``server``; the load and click benchmarks and docs/record_drag.py start it too)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 120


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    weights: Path
    gradio_tmp: Path

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]


_server: Server | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(workdir: Path, linear: Path, gaussian: Path, classifier: Path | None = None) -> Server:
    """The session's server (started on first use): weights are copies of the given checkpoints
    under the bundled names, the readout's classifier is ``classifier`` (None: off, whatever is
    bundled); the working directory is ``workdir``, and Gradio's temp files are inside it, in
    ``gradio-tmp`` (where Gradio is strictest: it refuses an upload named with a leading dot there)."""
    global _server
    if _server is not None and _server.proc.poll() is None:
        return _server
    weights = workdir / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    shutil.copy(linear, weights / "ganmut-linear.safetensors")
    shutil.copy(gaussian, weights / "ganmut-gaussian.safetensors")
    port = _free_port()
    gradio_tmp = workdir / "gradio-tmp"
    env = dict(os.environ, GANMUT_WEIGHTS=str(weights), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=str(gradio_tmp), PYTHONUNBUFFERED="1",
               GANMUT_CLASSIFIER=str(classifier) if classifier else "off")
    log = workdir / "app.log"
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=workdir, env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with code {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "config", timeout=2) as r:
                if r.status == 200:
                    _server = Server(url, proc, log, weights, gradio_tmp)
                    return _server
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"app.py did not answer within {STARTUP_S} s:\n{log.read_text(errors='replace')[-3000:]}")


def stop() -> None:
    global _server
    if _server is not None:
        _server.proc.terminate()
        try:
            _server.proc.wait(10)
        except subprocess.TimeoutExpired:
            _server.proc.kill()
        _server = None
