"""A browser session without a browser: Gradio's HTTP protocol as the page speaks it (upload, queue
join, the event stream, queue=False calls, ``.then`` chains, the heartbeat whose end is the tab
closing). Events are found by the ``elem_id`` of their component and their trigger, and their
inputs and outputs are named by the ``elem_id`` of theirs, so a client follows the app's layout and
wiring (an input left out is an error here, not a silent short call). Shared by test_app.py,
test_app_limits.py and benchmarks/bench_load.py; loopback only.
"""
from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

API = "gradio_api"


@dataclass
class Reply:
    """What one event answered: its outputs by the elem_id of their components (``named``; those
    without one are left out), what the page got for its State outputs (``states``: Gradio keeps
    their values on the server), every toast (level, text), and whether it succeeded."""

    named: dict[str, Any] = field(default_factory=dict)
    states: list[Any] = field(default_factory=list)
    toasts: list[tuple[str, str]] = field(default_factory=list)
    success: bool = True
    error: str | None = None


class UISession:
    """One page load: its own session hash; call :meth:`run` for an event, :meth:`open` / :meth:`close`
    for the heartbeat (closing it is what closing the tab does)."""

    def __init__(self, url: str, timeout_s: float = 300.0) -> None:
        if not url.startswith(("http://127.0.0.1", "http://localhost")):
            raise ValueError(f"loopback only, got {url}")
        self.url = url.rstrip("/") + "/"
        self.session = uuid.uuid4().hex[:11]
        self.http = httpx.Client(timeout=timeout_s)
        config = self.http.get(self.url + "config").raise_for_status().json()
        self._elem = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
        self._state = {c["id"] for c in config["components"] if c.get("type") == "state"}
        self._deps = config["dependencies"]
        self._beat: threading.Thread | None = None
        self._beat_response: httpx.Response | None = None

    def dependency(self, elem_id: str, trigger: str) -> dict:
        """The event listener on the component ``elem_id`` for ``trigger`` (e.g. 'click')."""
        for dep in self._deps:
            if any(self._elem.get(t[0]) == elem_id and t[1] == trigger for t in dep["targets"]):
                return dep
        raise LookupError(f"no {trigger} event on #{elem_id}")

    def upload(self, path: Path) -> dict:
        """Upload a file; its FileData payload."""
        with open(path, "rb") as f:
            r = self.http.post(self.url + f"{API}/upload", files={"files": (path.name, f)})
        server_path = r.raise_for_status().json()[0]
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def run(self, elem_id: str, trigger: str, inputs: dict[str, Any], event_data: Any = None) -> Reply:
        """Fire an event as the page does: ``inputs`` by the elem_id of their components, every one
        of them (LookupError for one left out or unknown); State inputs are sent as None, as the page does."""
        dep = self.dependency(elem_id, trigger)
        names = [self._elem.get(i) for i in dep["inputs"] if i not in self._state]
        if set(inputs) != set(names):
            raise LookupError(f"#{elem_id} {trigger} takes {sorted(map(str, names))}, got {sorted(inputs)}")
        data = [None if i in self._state else inputs[self._elem.get(i)] for i in dep["inputs"]]
        body = {"data": data, "fn_index": dep["id"], "trigger_id": dep["targets"][0][0] if dep["targets"] else None,
                "session_hash": self.session, "event_data": event_data}
        joined = self.http.post(self.url + f"{API}/queue/join", json=body)
        if joined.status_code != 200:
            return Reply(success=False, error=joined.text[:300])
        return self._await(joined.json()["event_id"], dep["outputs"])

    def _await(self, event_id: str, outputs: list[int]) -> Reply:
        toasts: list[tuple[str, str]] = []
        with self.http.stream("GET", self.url + f"{API}/queue/data", params={"session_hash": self.session}) as r:
            for line in r.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") != event_id:
                    continue
                if msg.get("msg") == "log":
                    toasts.append((msg.get("level", ""), msg.get("log", "")))
                elif msg.get("msg") == "process_completed":
                    out = msg.get("output") or {}
                    data = list(zip(outputs, out.get("data", [])))
                    return Reply({self._elem[o]: v for o, v in data if self._elem.get(o)},
                                 [v for o, v in data if o in self._state], toasts, bool(msg.get("success")), out.get("error"))
        return Reply(toasts=toasts, success=False, error="the event stream ended without a result")

    def open(self) -> None:
        """Open the heartbeat, as a loaded page does."""
        ready = threading.Event()

        def beat() -> None:
            try:
                with self.http.stream("GET", self.url + f"{API}/heartbeat/{self.session}") as r:
                    self._beat_response = r
                    ready.set()
                    for _ in r.iter_raw():
                        pass
            except (httpx.HTTPError, RuntimeError):
                pass  # closed by close()
            finally:
                ready.set()

        self._beat = threading.Thread(target=beat, daemon=True)
        self._beat.start()
        ready.wait(30)

    def close(self) -> None:
        """Close the heartbeat and the connections: to the server, the tab was closed."""
        if self._beat_response is not None:
            self._beat_response.close()
        self.http.close()
        if self._beat is not None:
            self._beat.join(30)
