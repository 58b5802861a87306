"""The app's bounds: a session's photo and files freed when its tab closes, the 429 past an API
client's limit, the upload guard; in-process and against the real server (no timing assertions:
waits are bounded and released by what they wait for)."""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

import webapp  # importing it loads no model
from tests import appserver
from tests.uiclient import UISession

from ganmut.editor import Prepared
from ganmut.cache import MB, ByteLRU
from webapp import api, ui_gamut, ui_photo, ui_picker, ui_result
from webapp.disk import DiskBudget
from webapp.limits import API_PER_CLIENT, Limits
from webapp.server import UploadGuard

ROOT = appserver.ROOT
OBAMA = ROOT / "assets" / "examples" / "obama.jpg"
BIDEN = ROOT / "assets" / "examples" / "biden.jpg"
WAIT_S = 60


@pytest.fixture(scope="module")
def app(linear_ckpt, gaussian_ckpt, tmp_path_factory):
    """The app (not launched), its temporary folder a fresh one."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio-tmp")))
        yield webapp.create_app(f"{linear_ckpt},{gaussian_ckpt}", "off")


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "²", "١٢"])
def test_a_bad_limit_setting_stops_the_app_with_one_line(value, monkeypatch):
    monkeypatch.setenv("GANMUT_TEMP_MB", value)
    with pytest.raises(SystemExit) as e:
        Limits.from_env()
    assert str(e.value) == f"GANMUT_TEMP_MB must be a whole number of at least 1, got '{value}'"


def _session(name: str) -> SimpleNamespace:
    return SimpleNamespace(session_hash=name)


def _upload(app, path: Path, tab: SimpleNamespace) -> tuple:
    """The outputs (by name) of a photo uploaded in the session ``tab``, at the starting point."""
    start = ui_picker.START
    return ui_photo.on_image(app, {"path": str(path)}, "linear", False, None, start["emotion"], start["intensity"], tab)


@pytest.mark.slow
def test_a_session_holds_one_photo_and_ending_it_frees_the_photo_and_files(app):
    tab = _session("tab-1")
    key = _upload(app, OBAMA, tab)["photo_key"]
    assert app.sessions.held(key).image.size == Image.open(OBAMA).size
    held_bytes = app.sessions.photos.nbytes
    assert _upload(app, BIDEN, tab)["photo_key"] == key  # replaces, not adds
    assert app.sessions.held(key).image.size == Image.open(BIDEN).size and app.sessions.photos.nbytes != held_bytes and len(app.sessions.photos) == 1
    made = ui_gamut.on_animate(app, key, "linear", "0", "happy", "ramp", tab)
    gif, mp4 = made["anim"], made["anim_mp4"].value["path"]
    folder = app.sessions.sessions_dir / key
    assert Image.open(gif).n_frames > 2 and sorted(p.name for p in folder.iterdir()) == sorted(Path(f).name for f in (gif, mp4))
    assert ui_gamut.on_animate(app, key, "linear", "0", "sad", "tour", tab)["anim"] != gif and len(list(folder.iterdir())) == 2
    app.sessions.end(tab)
    assert key not in app.sessions.photos and app.sessions.photos.nbytes == 0 and not folder.exists()
    with pytest.warns(UserWarning, match="Your photo was released"):  # the toast, outside a request
        status = ui_result.on_view(app, key, "linear", "0", False, None, ui_picker.START["emotion"], ui_picker.START["intensity"])["status"]
    assert status.startswith("Upload a photo to edit it")


def test_session_photos_are_bounded_by_bytes_least_recently_used_first(app, monkeypatch):
    monkeypatch.setattr(app.sessions, "photos", ByteLRU(app.limits.session_memory, Prepared.nbytes))
    _upload(app, OBAMA, _session("s"))
    size = app.sessions.photos.nbytes  # one photo, read and aligned: its pixels, the image and the aligned crops
    one = Image.open(OBAMA)
    # RGB pixels and the RGBX image, plus a face's crop and paste plan (32 bytes a pixel of its region)
    assert 7 * one.width * one.height < size < 7 * one.width * one.height + 2 * MB
    monkeypatch.setattr(app.sessions, "photos", ByteLRU(2 * size + 1, Prepared.nbytes))  # room for two such photos
    keys = [_upload(app, OBAMA, _session(f"s{i}"))["photo_key"] for i in range(3)]
    assert app.sessions.photos.nbytes == 2 * size and keys[0] not in app.sessions.photos and keys[1] in app.sessions.photos and keys[2] in app.sessions.photos
    monkeypatch.setattr(app.sessions, "photos", ByteLRU(size // 2, Prepared.nbytes))  # no room for even one
    message = (f"this photo needs {size / MB:.1f} MB of memory, more than the {size // 2 / MB:.1f} MB "
               "this server holds for photos: use a smaller one")
    with pytest.warns(UserWarning, match=message):
        status = _upload(app, OBAMA, _session("s9"))["status"]
    assert status == f"⚠️ {message}" and len(app.sessions.photos) == 0


def test_an_api_client_past_its_limit_gets_a_one_line_429(app):
    import gradio as gr

    work = api.png(app, None, lambda: Image.new("RGB", (8, 8), "red"))

    with ExitStack() as calls:
        for _ in range(API_PER_CLIENT):  # calls of client-a under way
            calls.enter_context(app.api_clients.hold("client-a"))
        with pytest.raises(gr.Error) as e:
            api.api_call(app, work, _session("client-a"))
        assert e.value.message == ("429 Too Many Requests: this client already has 2 API calls queued or running; "
                                   "wait for one to finish, then call again")
        assert Image.open(api.api_call(app, work, _session("client-b"))).getpixel((0, 0)) == (255, 0, 0)  # others go on
    path = api.api_call(app, work, _session("client-a"))  # its calls ended: room again
    assert Path(path).parent.parent == app.sessions.api_dir and Path(path).suffix == ".png"


def _age(folder: Path, seconds: float) -> None:
    """Make every file under ``folder`` ``seconds`` older, as if that much time had passed."""
    for path in folder.rglob("*"):
        if path.is_file():
            t = path.stat().st_mtime - seconds
            os.utime(path, (t, t))


@pytest.mark.slow
def test_a_flood_from_one_api_client_deletes_no_page_s_files(linear_ckpt, gaussian_ckpt, tmp_path, monkeypatch):
    """A page holds a clip, a photo and its PNG while one API client sends result after result (a
    sweep between calls, each a couple of minutes after the last): the client loses its own results,
    the old uploads of the calls go, the page keeps every file past 30 minutes and edits its clip;
    when the disk budget is spent, a call is refused in one line."""
    import gradio as gr
    import numpy as np

    from tests.clips import PHOTOS_OBAMA, face_frames, write_clip
    from webapp import ui_video

    temp = tmp_path / "gradio-tmp"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(temp))
    app = webapp.create_app(f"{linear_ckpt},{gaussian_ckpt}", "off", Limits(temp_bytes=40 * MB))
    (temp / "c1").mkdir(parents=True)
    clip = write_clip(temp / "c1" / "clip.mp4", face_frames(PHOTOS_OBAMA, 12))  # as Gradio stores an upload
    (temp / "p1").mkdir()
    photo = Path(shutil.copy(OBAMA, temp / "p1" / "obama.jpg"))
    tab = _session("page")
    assert ui_video.on_clip(app, {"path": str(clip)}, "linear", tab)["clip_status"].startswith("Clip: 1.0 s")
    key = _upload(app, photo, tab)["photo_key"]
    png = Path(ui_result.on_save(app, key, "linear", "0", [0.3, 0.4], tab)["download"].value["path"])
    _age(temp, 600)  # the page's files are the oldest in the folder
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (1000, 1000, 3), dtype=np.uint8))
    greedy = _session("greedy")
    inputs = []
    for i in range(12):
        inputs.append(temp / f"u{i}" / "noise.png")
        inputs[-1].parent.mkdir()
        noise.save(inputs[-1])  # the call's upload
        api.api_call(app, api.png(app, greedy, lambda: noise), greedy, ({"path": str(inputs[-1])},))
        _age(temp, 120)
        app.sessions.temp.sweep()
    assert all(p.exists() for p in (clip, photo, png)), "a page's file was deleted"
    own = sorted(app.sessions.api_dir.rglob("*.png"))
    assert 1 <= len(own) <= API_PER_CLIENT + 1 and not inputs[0].exists() and inputs[-1].exists()
    assert app.sessions.temp.usage() <= 40 * MB
    edited = ui_video.on_edit_clip(app, {"path": str(clip)}, "linear", None, "happy", 1.0, "point", tab,
                                   progress=lambda *a, **k: None)
    assert edited["clip_status"].startswith("Edited 12 of 12 frames"), edited
    with pytest.raises(gr.Error) as e:  # clients of a call each fill what is left: refused, in one line
        for i in range(20):
            api.api_call(app, api.png(app, _session(f"client-{i}"), lambda: noise), _session(f"client-{i}"))
    assert e.value.message == "the server's temporary storage is full: try again in a minute"
    assert all(p.exists() for p in (clip, photo, png)) and app.sessions.temp.usage() <= 40 * MB
    app.sessions.end(tab)
    _age(temp, 120)
    app.sessions.temp.sweep()
    assert not clip.exists() and not photo.exists()  # let go when the tab closed


def test_upload_guard_refuses_what_does_not_fit(app, tmp_path):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def upload(request):
        (tmp_path / "up.bin").write_bytes(await request.body())
        return PlainTextResponse("stored")

    budget = DiskBudget([tmp_path], max_bytes=100_000, max_age_s=3600)
    site = UploadGuard(Starlette(routes=[Route("/gradio_api/upload", upload, methods=["POST"])]), budget)
    with TestClient(site) as http:
        assert http.post("/gradio_api/upload", content=b"x" * 60_000).text == "stored"
        assert budget.admit(70_000)  # another upload under way
        refused = http.post("/gradio_api/upload", content=b"x" * 60_000)  # a sweep deletes up.bin, yet 130 kB > 100
        assert refused.status_code == 503 and refused.headers["retry-after"] == "60"
        assert refused.json() == {"detail": "the server's temporary storage is full: try again in a minute"}
        budget.done(70_000)
        assert http.post("/gradio_api/upload", content=b"x" * 30_000).text == "stored"
        assert http.post("/gradio_api/upload", content=b"x" * 100_001).status_code == 503


def test_upload_guard_renames_dot_named_files_in_part_headers_only():
    import asyncio

    from webapp.server import DotNames

    def part(name: str, data: bytes) -> bytes:
        return (b"--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + name.encode()
                + b"\"\r\nContent-Type: image/jpeg\r\n\r\n" + data + b"\r\n")

    inside = b'\xff\xd8 filename=".x" stays as it is \xff\xd9'  # in a file's bytes, not a header
    body = part(".a.jpg", inside) + part("b.png", b"png") + part("..c.gif", b"gif") + b"--XyZ--\r\n"
    renamed = part("_a.jpg", inside) + part("b.png", b"png") + part("_.c.gif", b"gif") + b"--XyZ--\r\n"

    async def through(size: int) -> bytes:
        chunks = [body[i:i + size] for i in range(0, len(body), size)]
        messages = iter([{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                         for i, c in enumerate(chunks)])

        async def receive() -> dict:
            return next(messages)

        channel = DotNames(receive, b"XyZ")
        return b"".join([(await channel())["body"] for _ in chunks])

    for size in (1, 2, 5, 13, 40, len(body)):  # the pattern split across chunks at every place
        assert asyncio.run(through(size)) == renamed, size


@pytest.mark.slow
def test_the_upload_cap_is_30_mb_as_the_page_says(server, tmp_path):
    """30 MB as the README and the page say it: 30,000,000 bytes pass, one byte more is refused (not 30 MiB)."""
    import httpx

    for size, ok in ((30_000_000, True), (30_000_001, False)):
        big = tmp_path / "big.bin"
        with open(big, "wb") as f:
            f.truncate(size)
        with open(big, "rb") as f:
            r = httpx.post(server.url + "gradio_api/upload", files={"files": ("big.bin", f)}, timeout=120)
        assert (r.status_code == 200) == ok, (size, r.status_code, r.text[:200])
        big.unlink()


@pytest.mark.slow
def test_closing_the_tab_frees_the_session_on_the_server(server):
    tab = UISession(server.url)
    tab.open()
    photo = {"photo": tab.upload(OBAMA), "model": "linear", "whole": False, "emotion": "happy", "intensity": 1.0}
    shown = tab.run("photo", "change", photo)
    assert shown.success and "Edited face 1" in shown.named["status"]
    assert len(shown.states) == 2 and not any(shown.states)  # the values of photo_key and point stay on the server
    gif = tab.run("anim-btn", "click", {"model": "linear", "face": "0", "emotion": "happy", "anim-path": "ramp"})
    folder = server.gradio_tmp / "ganmut-sessions" / hashlib.sha256(tab.session.encode()).hexdigest()[:32]
    assert gif.success and gif.named["anim"]["path"].startswith(str(folder)) and any(folder.glob("*.gif"))
    view = {"model": "linear", "face": "0", "whole": False}
    clicked = tab.run("wheel", "click", view, {"x": 0.3, "y": 0.4, "seq": 1})
    assert clicked.success and "Edited face 1" in clicked.named["status"]
    tab.close()
    deadline = time.monotonic() + WAIT_S
    while folder.exists() and time.monotonic() < deadline:  # the unload event runs once the heartbeat ends
        time.sleep(0.1)
    assert not folder.exists()
    again = UISession(server.url)
    again.session = tab.session  # the same page, back: Gradio still has its State, the photo is gone
    clicked = again.run("wheel", "click", view, {"x": 0.3, "y": 0.4, "seq": 2})
    again.close()
    assert clicked.success and clicked.named["status"].startswith("Upload a photo to edit it")
    assert ("warning", "Your photo was released to make room for other visitors: please upload it again.") in clicked.toasts


@pytest.mark.slow
def test_an_api_burst_from_one_client_gets_429s_and_others_are_served(server):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    greedy = Client(server.url, verbose=False)
    jobs = [greedy.submit(handle_file(str(BIDEN)), "linear", "0", api_name="/grid") for _ in range(10)]
    polite = Client(server.url, verbose=False).predict(handle_file(str(OBAMA)), 0.2, 0.1, "linear", "0", api_name="/edit_xy")
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(Image.open(job.result(timeout=300)).size)
        except AppError as e:
            outcomes.append(str(e))
    refusals = [o for o in outcomes if isinstance(o, str)]
    assert Image.open(polite).size == Image.open(OBAMA).size
    assert refusals and set(refusals) == {
        "429 Too Many Requests: this client already has 2 API calls queued or running; wait for one to finish, then call again"}
    assert len(outcomes) - len(refusals) >= 2
