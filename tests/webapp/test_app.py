"""The real app over HTTP: ``python app.py`` on a free port, driven with gradio_client.

The weights are the tiny untrained fixture checkpoints: the edits are meaningless but go through
the whole pipeline (detection, alignment, generator, paste-back, PNG encoding, HTTP).
"""
from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

import webapp  # importing it loads no model
from tests.helpers import DetectionCounter
from tests import appserver
import ganmut
from tests.uiclient import UISession
from ganmut.emotions import EMOTIONS
from ganmut.images import load_image
from webapp import api, point_edit, ui_gamut, ui_match, ui_photo, ui_picker, ui_result, ui_saved, views
from webapp.models import Models

ROOT = appserver.ROOT
OBAMA = ROOT / "assets" / "examples" / "obama.jpg"
BIDEN = ROOT / "assets" / "examples" / "biden.jpg"
MARGIN = 0.6  # pixels farther than this many face sizes from the face box must be untouched
def make_app(weights: str, classifier: str = "off"):
    """The app (not launched) serving ``weights`` (any form GANMUT_WEIGHTS takes) with this readout classifier."""
    return webapp.create_app(weights, classifier)


def upload(app, path, kind: str = "linear") -> dict:
    """The outputs of a new photo, by name."""
    return ui_photo.on_image(app, {"path": str(path)}, kind, False, None, ui_picker.START["emotion"],
                             ui_picker.START["intensity"])


@pytest.fixture(scope="session")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


@pytest.fixture(scope="session")
def face_boxes(linear_ckpt):
    import ganmut

    ed = ganmut.load(linear_ckpt, device="cpu")
    return {p: ed.detect(p)[0].box for p in (OBAMA, BIDEN)}


def assert_edited_only_around(path_in, path_out, box) -> None:
    """Same size; some pixels changed; every pixel far from the face box bit-identical."""
    import ganmut

    before = np.asarray(ganmut.load_image(path_in).convert("RGB"), dtype=np.int16)
    after = np.asarray(Image.open(path_out).convert("RGB"), dtype=np.int16)
    assert after.shape == before.shape
    changed = np.abs(after - before).max(-1) > 0
    assert changed.sum() > 100, "the face was not edited"
    x0, y0, x1, y1 = box
    pad = MARGIN * max(x1 - x0, y1 - y0)
    far = np.ones_like(changed)
    far[max(0, int(y0 - pad)):int(y1 + pad) + 1, max(0, int(x0 - pad)):int(x1 + pad) + 1] = False
    assert far.any()
    assert not changed[far].any(), f"{int(changed[far].sum())} pixels far from the face changed"


@pytest.mark.slow
def test_edit_xy_changes_only_the_face(client, face_boxes):
    from gradio_client import handle_file

    out = client.predict(handle_file(str(OBAMA)), 0.5, 0.5, "linear", "0", api_name="/edit_xy")
    assert_edited_only_around(OBAMA, out, face_boxes[OBAMA])


@pytest.mark.slow
def test_edit_emotion_changes_only_the_face(client, face_boxes):
    from gradio_client import handle_file

    out = client.predict(handle_file(str(BIDEN)), "surprise", 0.7, "gaussian", "all", api_name="/edit_emotion")
    assert Image.open(out).size == Image.open(BIDEN).size
    assert_edited_only_around(BIDEN, out, face_boxes[BIDEN])


@pytest.mark.slow
def test_grid_endpoint(client):
    from gradio_client import handle_file

    out = Image.open(client.predict(handle_file(str(OBAMA)), "linear", "0", api_name="/grid"))
    assert min(out.size) > 300


@pytest.mark.slow
def test_errors_are_clear_and_the_server_survives(client, tmp_path):
    from gradio_client import handle_file
    from skimage import data

    cat = tmp_path / "chelsea.png"
    Image.fromarray(data.chelsea()).save(cat)
    with pytest.raises(Exception, match="no face found in the image"):
        client.predict(handle_file(str(cat)), 0.5, 0.0, "linear", "0", api_name="/edit_xy")
    junk = tmp_path / "broken.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    with pytest.raises(Exception, match="broken.jpg|corrupt|not .*image|cannot"):
        client.predict(handle_file(str(junk)), "happy", 1.0, "linear", "0", api_name="/edit_emotion")
    with pytest.raises(Exception, match="outside the linear space"):
        client.predict(handle_file(str(OBAMA)), 2.0, 0.0, "linear", "0", api_name="/edit_xy")
    with pytest.raises(Exception, match=r"intensity must be a number in \[0, 1\], got 1.5"):
        client.predict(handle_file(str(OBAMA)), "happy", 1.5, "linear", "0", api_name="/edit_emotion")
    with pytest.raises(Exception, match="face 3 requested but 1 face"):
        client.predict(handle_file(str(OBAMA)), 0.1, 0.1, "gaussian", "3", api_name="/edit_xy")
    out = client.predict(handle_file(str(OBAMA)), 0.0, -0.5, "gaussian", "0", api_name="/edit_xy")
    assert Image.open(out).size == Image.open(OBAMA).size


@pytest.mark.parametrize(
    "kind, api_name, size, note",
    [
        ("cmyk", "/edit_xy", (910, 1137), None),
        ("cmyk", "/edit_emotion", (910, 1137), None),
        ("big", "/edit_xy", (4000, 3000), "obama-big.jpg is 8000x6000 px (48 megapixels); it is edited at 4000x3000 px"),
        ("heic", "/edit_emotion", (910, 1137), None),
        ("gif", "/edit_xy", (910, 1137), "obama-gif.gif has 3 frames: only the first is edited"),
    ],
)
@pytest.mark.slow
def test_api_edits_odd_photos(client, server, odd_photos, kind, api_name, size, note):
    from gradio_client import handle_file

    args = (0.5, 0.5) if api_name == "/edit_xy" else ("surprise", 0.8)
    out = Image.open(client.predict(handle_file(str(odd_photos[kind])), *args, "linear", "0", api_name=api_name))
    assert out.size == size and out.mode in ("RGB", "P")
    assert note is None or f"note: {note}" in server.log_tail(20_000)
    if kind == "cmyk":
        assert out.mode == "RGB"
        before = np.asarray(load_image(odd_photos[kind]).convert("RGB"), dtype=np.int16)
        changed = np.abs(np.asarray(out, dtype=np.int16) - before).max(-1) > 0
        assert 100 < changed.sum() < 0.5 * changed.size  # the face was edited, the rest is the photo in RGB


@pytest.mark.slow
def test_api_grid_of_a_cmyk_photo(client, odd_photos):
    from gradio_client import handle_file

    assert Image.open(client.predict(handle_file(str(odd_photos["cmyk"])), "linear", "0", api_name="/grid")).mode == "RGB"


@pytest.mark.slow
def test_api_bad_values_get_one_short_line_without_server_paths(client, server, tmp_path):
    from gradio_client import handle_file

    photo = handle_file(str(OBAMA))
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    cases = [
        ((photo, "happy", None, "linear", "0"), "/edit_emotion", r"^intensity must be a number in \[0, 1\], got None$"),
        ((photo, "happy", "much", "linear", "0"), "/edit_emotion", r"^intensity must be a number in \[0, 1\], got 'much'$"),
        ((photo, None, 0.1, "linear", "0"), "/edit_xy", r"^x must be a number, got None$"),
        ((photo, 0.1, "abc", "gaussian", "0"), "/edit_xy", r"^y must be a number, got 'abc'$"),
        ((photo, "x" * 1_000_000, 0.5, "linear", "0"), "/edit_emotion", r"^unknown emotion 'x{60}'\.\.\. \(1000000 characters\)"),
        ((photo, 0.1, 0.1, "linear", "9" * 5000), "/edit_xy", r"^face must be a face number .* \(5000 characters\)$"),
        ((photo, 0.1, 0.1, "linear", "9" * 4000), "/edit_xy", r"^face 9{60}\.\.\. requested but 1 face"),
        ((photo, "m" * 5000, "0"), "/grid", r"^unknown model 'm{60}'\.\.\. \(5000 characters\): use 'linear'"),
        ((handle_file(str(text)), 0.1, 0.1, "linear", "0"), "/edit_xy", r"^notes.txt is not an image"),
        ((photo, "{not json", "0"), "/edit_preset", r"^the preset is not JSON: give \{\"model\": \"linear\", \"z\": \[x, y\]\}$"),
        ((photo, '{"model": "linear", "z": [0.9, 0.9]}', "0"), "/edit_preset", r"^code \(0.9, 0.9\) lies outside the linear space"),
        ((photo, '{"model": "linear", "z": ["NaN", 0]}', "0"), "/edit_preset", r"^the preset has a code that is not finite numbers$"),
        ((photo, "[" * 5000, "0"), "/edit_preset", r"^the preset is too long \(5000 characters\)$"),
        ((photo, 0.1, 0.1, "linear", 0), "/edit_xy", r'^face must be a string, "0" \(the largest face\), "1", \.\.\. or "all"; got 0$'),
        ((photo, 0.1, 0.1, "linear", None), "/edit_xy", r"^face must be a string, .*; got None$"),
        ((photo, 3, 0.5, "gaussian", "0"), "/edit_emotion", r"^emotion must be a string, an emotion's name; got 3$"),
        ((photo, None, "0"), "/edit_preset", r"^preset must be a string, JSON text .*; got None$"),
        ((photo, 7, "0"), "/grid", r'^model must be a string, "linear" or "gaussian"; got 7$'),
    ]
    logged = len(server.log.read_text(errors="replace"))
    for args, api_name, pattern in cases:
        with pytest.raises(Exception) as e:
            client.predict(*args, api_name=api_name)
        message = str(e.value)
        assert re.search(pattern, message), message[:300]
        assert "\n" not in message and len(message) < 200
        for secret in (server.log.parent, server.gradio_tmp, ROOT, sys.prefix):
            assert str(secret) not in message
    assert Image.open(client.predict(photo, 0.1, 0.1, "linear", "0", api_name="/edit_xy")).size == Image.open(OBAMA).size
    # the server log: one line for each user error, no traceback
    log = server.log.read_text(errors="replace")[logged:]
    assert "Traceback" not in log and log.count("user error: ") == len(cases), log[-2000:]


@pytest.mark.slow
def test_a_photo_named_with_a_leading_dot_is_edited(client, server, tmp_path):
    from gradio_client import handle_file

    assert server.gradio_tmp.parent == server.log.parent  # where Gradio refuses such uploads, unless renamed
    dotted = tmp_path / ".obama.jpg"
    dotted.write_bytes(OBAMA.read_bytes())
    out = client.predict(handle_file(str(dotted)), 0.2, 0.1, "linear", "0", api_name="/edit_xy")
    assert Image.open(out).size == Image.open(OBAMA).size
    tab = UISession(server.url)
    photo = {"photo": tab.upload(dotted), "model": "linear", "whole": False, "emotion": "happy", "intensity": 1.0}
    shown = tab.run("photo", "change", photo)
    tab.close()
    assert shown.success and shown.named["status"].startswith("Edited face 1"), shown.error


@pytest.mark.slow
def test_page_reveals_no_server_paths_and_loads_plotly_from_its_own_route(server):
    with urllib.request.urlopen(server.url, timeout=30) as r:
        html = r.read().decode()
    assert "/ganmut/plotly.min.js" in html
    for secret in (ROOT, sys.prefix, "site-packages", "package_data"):
        assert str(secret) not in html
    # Gradio's example payloads name their cached copies (in the temporary folder, which lies in the
    # working directory); nothing else is an absolute path of this machine.
    paths = re.findall(r"(?<![\w:/.])/(?:tmp|root|home|work|usr|opt|var|srv|app)/[^\s\"'\\]*", html)
    assert paths and all(p.startswith(str(server.gradio_tmp)) for p in paths)
    with urllib.request.urlopen(server.url + "ganmut/plotly.min.js", timeout=30) as r:
        assert r.headers["content-type"].startswith("text/javascript") and b"plotly.js v" in r.read(4000)


@pytest.mark.slow
def test_api_lists_the_six_named_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/edit_xy", "/edit_emotion", "/edit_preset", "/match", "/grid", "/video"} <= names


@pytest.mark.slow
def test_a_preset_through_the_api_is_its_point(client):
    from gradio_client import handle_file

    photo = handle_file(str(OBAMA))
    direct = client.predict(photo, -0.3, 0.4, "gaussian", "0", api_name="/edit_xy")
    saved = client.predict(photo, '{"model": "GGANmut", "z": [-0.3, 0.4]}', "0", api_name="/edit_preset")
    assert np.array_equal(np.asarray(Image.open(direct)), np.asarray(Image.open(saved)))


@pytest.mark.slow
def test_saved_points_apply_to_another_photo_and_bring_their_model(linear_ckpt, gaussian_ckpt, monkeypatch):
    import warnings

    app = make_app(f"{linear_ckpt},{gaussian_ckpt}")
    upload(app, OBAMA)
    z = [-0.35, 0.5]
    saved = ui_saved.on_save(app, " wistful ", "gaussian", z, {})
    stored = saved["presets"]
    assert stored == {"wistful": {"model": "gaussian", "z": z}} and saved["preset_json"] == f"`{json.dumps(stored['wistful'])}`"
    assert [c[0] for c in saved["preset_pick"].choices] == ["wistful"] and saved["preset_pick"].value == "wistful"
    stored = ui_saved.on_save(app, "half happy", "linear", list(point_edit.start_code(app, "linear", "happy", 0.5)), stored)["presets"]
    assert list(stored) == ["half happy", "wistful"]
    assert [c[0] for c in ui_saved.on_load(app, stored)["preset_pick"].choices] == ["half happy", "wistful"]
    # another photo, with GANmut chosen: the preset brings GGANmut back, at its point, the controls set to it
    key = upload(app, BIDEN)["photo_key"]
    out = ui_saved.on_apply(app, key, "linear", "0", False, "wistful", stored)
    space = app.models.editor("gaussian").space
    assert out["model"] == "gaussian" and out["point"] == pytest.approx(z) and out["wheel"].props["point"] == z
    assert out["emotion"].value == EMOTIONS[space.nearest_emotion(tuple(z))] and "Edited face 1" in out["status"]
    assert out["result"][1].size == out["result"][0].size and out["grid"] is None
    same = ui_saved.on_apply(app, key, "gaussian", "0", False, "wistful", stored)
    assert "model" not in same and same["point"] == pytest.approx(z)
    # bad names and points say why; nothing is saved
    for name, point, message in (("../etc", z, "must be 1 to 40"), ("late", None, "choose a point first")):
        with pytest.warns(UserWarning, match=message):
            assert set(ui_saved.on_save(app, name, "linear", point, stored)) == {"status"}
    # a damaged or tampered browser value is reset, with a toast, never an error
    with pytest.warns(UserWarning, match="could not be read and were reset"):
        assert ui_saved.on_load(app, {"x": {"model": "linear", "z": ["inf", 0]}})["preset_pick"].choices == []
    with pytest.warns(UserWarning, match="could not be read"):
        ui_saved.on_load(app, "garbage")
    deleted = ui_saved.on_delete(app, "wistful", stored)
    assert list(deleted["presets"]) == ["half happy"] and deleted["preset_json"] == ""
    with warnings.catch_warnings(record=True):
        assert ui_saved.on_apply(app, key, "linear", "0", False, "wistful", deleted["presets"]) == {}
    # the animation: a GIF shown and the same frames as an MP4
    made = ui_gamut.on_animate(app, key, "gaussian", "0", "happy", "ramp")
    assert Image.open(made["anim"]).n_frames > 2 and made["anim_mp4"].value["path"].endswith(".mp4")
    # a damaged browser value is reset at page load
    with pytest.warns(UserWarning, match="could not be read"):
        assert ui_saved.on_load(app, {"x": {"model": "linear", "z": [10 ** 400]}})["presets"] == {}


@pytest.mark.slow
def test_hostile_clicks_and_a_failed_mp4_get_one_line(linear_ckpt, gaussian_ckpt, monkeypatch, capsys):
    from types import SimpleNamespace

    from ganmut import animate
    from ganmut.errors import GanmutError

    app = make_app(f"{linear_ckpt},{gaussian_ckpt}")
    key = upload(app, OBAMA)["photo_key"]
    for evt, message in ((SimpleNamespace(x=10 ** 400, y=0, seq=3), "x must be a number"),
                         (SimpleNamespace(x=0.1, y=0.2, seq="abc"), "the wheel event's number must be a number"),
                         (SimpleNamespace(seq=4), "x must be a number, got None")):
        with pytest.warns(UserWarning, match=message):
            out = ui_picker.on_click(app, key, "linear", "0", False, evt)
        assert set(out) == {"wheel", "status"} and message in out["status"]
        assert f"user error: {message}" in capsys.readouterr().err  # one line in the server log
    real = animate.write

    def no_ffmpeg(frames, path, *args):
        if str(path).endswith(".mp4"):
            raise GanmutError("imageio-ffmpeg is not installed")
        return real(frames, path, *args)

    monkeypatch.setattr(animate, "write", no_ffmpeg)
    with pytest.warns(UserWarning, match=r"the MP4 could not be made \('imageio-ffmpeg is not installed'\); the GIF is below"):
        made = ui_gamut.on_animate(app, key, "linear", "0", "sad", "tour")
    assert Image.open(made["anim"]).n_frames > 2 and made["anim_mp4"].visible is False


def test_weights_are_found_as_the_library_finds_them(tmp_path, linear_ckpt, gaussian_ckpt):
    from ganmut.weights import find_weights

    models = Models(str(tmp_path / "nothing-here"), "off")
    assert models.paths == {} and models.problem == "weights not found: 'nothing-here'" and models.names == ["linear", "gaussian"]
    assert find_weights(f"{linear_ckpt},{gaussian_ckpt}") == {"linear": linear_ckpt, "gaussian": gaussian_ckpt}
    assert find_weights(f",{gaussian_ckpt}") == {"gaussian": gaussian_ckpt}
    with pytest.raises(ganmut.CheckpointError, match="no trained weights in"):
        find_weights(str(tmp_path))
    with pytest.raises(ganmut.CheckpointError, match="the weights name missing files: nope.safetensors"):
        find_weights(f"{linear_ckpt},{tmp_path / 'nope.safetensors'}")
    with pytest.raises(ganmut.CheckpointError, match="at most 2 files, got 3"):
        find_weights(f"{linear_ckpt},{gaussian_ckpt},{gaussian_ckpt}")
    with pytest.raises(ganmut.CheckpointError, match="^weights not found: 'missing'$"):  # a path, never sent to the Hub
        find_weights(str(tmp_path / "missing"))
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "ganmut-linear.safetensors").write_bytes(b"not a checkpoint at all")  # loads badly: left out
    (folder / "ganmut-gaussian.safetensors").write_bytes(gaussian_ckpt.read_bytes())
    models = Models(str(folder), "off")
    assert list(models.paths) == ["gaussian"] and models.names == ["gaussian"] and "ganmut-linear.safetensors" in models.problem
    assert models.banner().startswith("**Only GGANmut (Gaussian) is available**")
    # the library takes the same forms, and the paper's names
    assert ganmut.load("GGANmut", device="cpu", classifier=None, weights=folder).model.space.kind == "gaussian"
    with pytest.raises(ganmut.CheckpointError, match="hold no linear model"):
        ganmut.load("linear", device="cpu", classifier=None, weights=f",{gaussian_ckpt}")


def test_without_weights_the_app_starts_and_says_so(tmp_path, monkeypatch):
    import gradio as gr

    app = make_app(str(tmp_path))
    banner = next(b for b in app.blocks.blocks.values() if getattr(b, "elem_id", None) == "banner")
    assert banner.visible and "No trained weights are bundled" in banner.value
    with pytest.raises(gr.Error, match="No trained weights are bundled"):
        api.edit_xy(app, {"path": str(OBAMA)}, 0.1, 0.2, "linear", "0")
    with pytest.warns(UserWarning, match="No trained weights are bundled"):  # the toast, outside a request
        out = upload(app, OBAMA)
    assert "No trained weights are bundled" in out["status"] and out["result"] is None and out["photo_key"] is None


@pytest.mark.slow
def test_ui_upload_of_odd_photos_shows_and_downloads_them(linear_ckpt, gaussian_ckpt, odd_photos, monkeypatch, tmp_path):
    app = make_app(f"{linear_ckpt},{gaussian_ckpt}")
    shown = {b.elem_id: b for b in app.blocks.blocks.values() if getattr(b, "elem_id", None) in ("result", "faces", "crops")}
    expected = {
        "cmyk": ("CMYK", (910, 1137), "a CMYK photo is downloaded as RGB"),
        "big": ("RGB", (4000, 3000), "obama-big.jpg is 8000x6000 px (48 megapixels); it is edited at 4000x3000 px"),
        "heic": ("RGB", (910, 1137), None),
        "gif": ("P", (910, 1137), "obama-gif.gif has 3 frames: only the first is edited"),
    }
    for kind, (mode, size, note) in expected.items():
        out = upload(app, odd_photos[kind])
        prep, (before, after), status = app.sessions.held(out["photo_key"]), out["result"], out["status"]
        assert prep.image.mode == mode and prep.image.size == size, kind
        assert status.startswith("Edited face 1 to") and (note is None) == ("ℹ️" not in status) and (note or "") in status
        # the views: the face, display-sized, in 8 bits (what a JPEG holds)
        assert before.size == after.size and max(after.size) <= 1600 and after.mode in ("RGB", "L"), kind
        assert after.width < size[0] and after.width == after.height
        # what Gradio does with the outputs before they reach the page (a CMYK image failed here)
        shown["result"].postprocess((before, after))
        shown["faces"].postprocess(out["faces"])
        shown["crops"].postprocess(out["crops"])
        # the full-resolution PNG, made only when asked for
        button = ui_result.on_save(app, out["photo_key"], "linear", "0", out["point"])["download"]
        saved = Image.open(button.value["path"])
        assert saved.format == "PNG" and saved.size == size and saved.mode == ("RGB" if kind == "cmyk" else mode)


@pytest.mark.slow
def test_one_point_drives_the_wheel_the_controls_and_the_edit(linear_ckpt, gaussian_ckpt, monkeypatch):
    from types import SimpleNamespace

    from ganmut.images import display_copy, display_factor

    app = make_app(f"{linear_ckpt},{gaussian_ckpt}")
    out = upload(app, OBAMA)
    key = out["photo_key"]
    prep = app.sessions.held(key)
    assert out["face"].visible is False and out["point"] == pytest.approx(list(point_edit.start_code(app, "linear", "happy", 1.0)))
    detector = app.models.editor("linear").detector
    seen = DetectionCounter(monkeypatch, detector)
    space = app.models.editor("linear").space
    sad = space.directions()[1].tolist()  # a click just beyond the rim, towards sad: the rim point
    click = ui_picker.on_click(app, key, "linear", "0", False, SimpleNamespace(x=1.5 * sad[0], y=1.5 * sad[1], seq=7))
    point, marker, status = click["point"], click["wheel"], click["status"]
    assert point == pytest.approx(sad) and marker.props["point"] == point and marker.props["seq"] == 7
    assert click["emotion"].value == "sad" and click["intensity"].value == pytest.approx(1.0) and len(click["crops"]) == 2
    assert f"({sad[0]:+.2f}, {sad[1]:+.2f})" in status and "sad 100%" in status
    # the slider moves the point along its ray; the controls are left as the user set them
    slid = ui_picker.on_intensity(app, key, "linear", "0", False, point, "sad", 0.4)
    assert slid["point"] == pytest.approx([0.4 * v for v in sad]) and "emotion" not in slid and "intensity" not in slid
    # another emotion at the same intensity
    chosen = ui_picker.on_emotion(app, key, "linear", "0", False, "fear", 0.4)
    point3 = chosen["point"]
    assert point3 == pytest.approx(list(space.code("fear", 0.4).tolist())) and "fear 40%" in chosen["status"]
    # the whole photo, reduced and patched where the edit changed it, is the edited photo reduced
    before_all, after_all = ui_result.on_view(app, key, "linear", "0", True, point3, "fear", 0.4)["result"]
    result = app.models.edit("linear", prep, tuple(point3), 0)
    k = display_factor(prep.image.size)
    assert after_all.tobytes() == display_copy(result.image, k).tobytes() and before_all.size == after_all.size
    assert seen.n == 0  # only the generator and the paste-back ran again
    # another model: the same emotion and intensity in its space, the photo's detection kept
    switched = ui_picker.on_model(app, "gaussian", key, "0", False, "fear", 0.4)
    point4, prep4 = switched["point"], app.sessions.held(key)
    assert point4 == pytest.approx(list(app.models.editor("gaussian").space.code("fear", 0.4).tolist()))
    assert switched["wheel"].props["point"] == point4 and prep4.faces == prep.faces and seen.n == 0
    assert switched["grid"] is None and switched["anim"] is None  # what the last model made is cleared


@pytest.mark.slow
def test_a_drag_previews_its_points_and_the_release_commits(linear_ckpt, gaussian_ckpt, tiny_classifier, monkeypatch):
    from types import SimpleNamespace

    app = make_app(f"{linear_ckpt},{gaussian_ckpt}", str(tiny_classifier))
    key = upload(app, OBAMA)["photo_key"]
    seen = DetectionCounter(monkeypatch, app.models.editor("linear").detector)
    space = app.models.editor("linear").space
    anger = space.directions()[EMOTIONS.index("anger") - 1].tolist()
    at = (0.6 * anger[0], 0.6 * anger[1])
    look = ui_picker.on_drag(app, key, "linear", "0", False, SimpleNamespace(x=at[0], y=at[1], seq=12))
    assert set(look) <= set(point_edit.DRAG) and "point" not in look and "readout" not in look  # the release commits
    assert look["wheel"].props["seq"] == 12 and "point" not in look["wheel"].props  # the page keeps its marker
    assert look["emotion"].value == "anger" and look["intensity"].value == pytest.approx(0.6, abs=1e-3)
    assert 'data-emotion="anger"' in look["mix"]
    # the status line describes the point dragged over, as a preview, not the last edit
    assert look["status"] == f"Preview: {views.describe(space, at)}; release to edit."
    assert look["status"].startswith("Preview: **anger 60%** at (")
    before, after = look["result"]
    assert max(after.size) <= point_edit.PREVIEW_SIDE and before.size == after.size and before.tobytes() != after.tobytes()
    release = ui_picker.on_click(app, key, "linear", "0", False, SimpleNamespace(x=at[0], y=at[1], seq=13))
    assert release["point"] == pytest.approx(list(at)) and release["wheel"].props["seq"] == 13
    # a look answered after the release (it took longer than the page waits) leaves the committed view alone
    late = ui_picker.on_drag(app, key, "linear", "0", False, SimpleNamespace(x=0.0, y=0.0, seq=12))
    assert set(late) == {"wheel"} and late["wheel"].props["seq"] == 12
    assert seen.n == 0  # a drag runs the generator and the paste, never the detector
    bad = ui_picker.on_drag(app, key, "linear", "0", False, SimpleNamespace(x="left", y=0.1, seq=14))
    assert bad["status"].startswith("⚠️ x must be a number") and bad["wheel"].props["seq"] == 14


@pytest.mark.slow
def test_a_drag_on_a_big_photo_previews_a_reduced_view_near_the_exact_one(linear_ckpt, gaussian_ckpt, tmp_path):
    """On 12 megapixels the look is reduced (a whole factor, at most PREVIEW_SIDE), of the face and of
    the whole photo, and shows the same edit as the exact view reduced alike."""
    from types import SimpleNamespace

    canvas = Image.new("RGB", (4000, 3000), (120, 130, 140))
    with Image.open(OBAMA) as src:
        canvas.paste(src.convert("RGB").resize((1920, 2400)), (1040, 300))
    big = tmp_path / "big.jpg"
    canvas.save(big, quality=90)
    app = make_app(f"{linear_ckpt},{gaussian_ckpt}")
    key = upload(app, big)["photo_key"]
    prep = app.sessions.held(key)
    code = (0.3, -0.5)
    result = app.models.edit("linear", prep, code, 0, read=False)
    for whole in (False, True):
        before, after = ui_picker.on_drag(app, key, "linear", "0", whole, SimpleNamespace(x=code[0], y=code[1], seq=3))["result"]
        exact = views.before_after(prep, result, whole, point_edit.PREVIEW_SIDE)[1]
        assert after.size == exact.size == before.size and max(after.size) <= point_edit.PREVIEW_SIDE
        assert max(after.size) < max(views.before_after(prep, result, whole)[1].size)  # reduced more than a click's view
        quick, exact, unedited = (np.asarray(i, dtype=int) for i in (after, exact, before))
        assert np.abs(quick - exact).mean() < 0.15 * np.abs(exact - unedited).mean()


@pytest.mark.slow
def test_neutral_sends_the_point_to_the_neutral_anchor(linear_ckpt, gaussian_ckpt, monkeypatch):
    app = make_app(f"{linear_ckpt},{gaussian_ckpt}")
    key = upload(app, OBAMA)["photo_key"]
    seen = DetectionCounter(monkeypatch, app.models.editor("linear").detector)
    for kind in ("linear", "gaussian"):
        out = ui_picker.on_neutral(app, key, kind, "0", False)
        anchor = app.models.editor(kind).space.anchors()[EMOTIONS.index("neutral")].tolist()
        assert out["point"] == pytest.approx(anchor) and out["wheel"].props["point"] == out["point"]
        assert out["intensity"].value == 0 and "emotion" not in out and len(out["crops"]) == 2
        assert "neutral" in out["status"]
    assert seen.n == 0  # identity kept: the same detection and alignment, only the generator ran


@pytest.mark.slow
def test_neutral_through_the_api_is_edit_emotion_neutral(client, face_boxes):
    from gradio_client import handle_file

    out = client.predict(handle_file(str(OBAMA)), "neutral", 1.0, "linear", "0", api_name="/edit_emotion")
    assert_edited_only_around(OBAMA, out, face_boxes[OBAMA])


def call_raw(url: str, endpoint: str, data: list) -> tuple[str, dict]:
    """One call over Gradio's HTTP API, as any client may make it: the event's kind and its data."""
    req = urllib.request.Request(f"{url}gradio_api/call/{endpoint}", data=json.dumps({"data": data}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{endpoint}/{event_id}", timeout=120) as r:
        lines = r.read().decode().splitlines()
    return lines[0].removeprefix("event: "), json.loads(lines[1].removeprefix("data: "))


@pytest.mark.slow
def test_a_file_argument_that_is_no_file_gets_one_line_and_no_traceback(server):
    """A plain string, a path on the server that was never uploaded, too few arguments: Gradio refuses
    them before the handler; the client gets one line saying why, the log one line and no traceback."""
    start = len(server.log.read_text(errors="replace"))
    form = "image must be a file sent with gradio_client's handle_file(path)"
    cases = [(["hello", 0.3, 0.3, "linear", "0"], f"{form}, got 'hello'"),
             ([str(OBAMA), 0.3, 0.3, "linear", "0"], f"{form}, got '{OBAMA}'"),
             ([{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, 0.3, 0.3, "linear", "0"],
              f"{form}, not the path of a file on the server (passwd)"),
             ([{"path": "../../../../etc/passwd", "meta": {"_type": "gradio.FileData"}}, 0.3, 0.3, "linear", "0"],
              f"{form}, not the path of a file on the server (passwd)"),
             ([None, 0.3], "this call takes 5 arguments, got 2")]
    for data, says in cases:
        kind, answer = call_raw(server.url, "edit_xy", data)
        assert (kind, answer["error"]) == ("error", says), answer
    with pytest.raises(urllib.error.HTTPError) as e:  # an endpoint the app does not have
        call_raw(server.url, "nope", [])
    says = "no API endpoint 'nope'; see the page's \"Use the API\""
    assert e.value.code == 404 and json.loads(e.value.read()) == {"error": says}
    cases.append((None, says))
    log = server.log.read_text(errors="replace")[start:]
    assert "Traceback" not in log and all(f"user error: {says}" in log for _, says in cases), log


@pytest.mark.slow
def test_match_through_the_api_and_a_reference_without_a_face(client, server, face_boxes, tmp_path):
    import skimage.data
    from gradio_client import handle_file

    out = client.predict(handle_file(str(BIDEN)), handle_file(str(OBAMA)), "linear", "0", "0", api_name="/match")
    assert_edited_only_around(BIDEN, out, face_boxes[BIDEN])
    cat = tmp_path / "cat.png"
    Image.fromarray(skimage.data.chelsea()).save(cat)
    with pytest.raises(Exception) as e:
        client.predict(handle_file(str(BIDEN)), handle_file(str(cat)), "linear", "0", "0", api_name="/match")
    assert str(e.value).strip() == "reference photo: no face found in the image"
    with pytest.raises(Exception, match="^reference_face must be"):
        client.predict(handle_file(str(BIDEN)), handle_file(str(OBAMA)), "linear", "0", "all", api_name="/match")


@pytest.mark.slow
def test_a_smiling_reference_moves_the_point_into_the_happy_sector(linear_ckpt, gaussian_ckpt, monkeypatch, tmp_path):
    import skimage.data

    from ganmut.weights import CLASSIFIER_FILE

    # the bundled classifier (by its path: "auto" would share the editor that another test loads without it)
    app = make_app(f"{linear_ckpt},{gaussian_ckpt}", str(CLASSIFIER_FILE))  # it reads obama.jpg as happy 83 %
    key = upload(app, BIDEN)["photo_key"]
    ui_picker.on_emotion(app, key, "linear", "0", False, "sad", 1.0)
    out = ui_match.on_reference(app, key, "linear", "0", False, {"path": str(OBAMA)})
    space = app.models.editor("linear").space
    assert space.nearest_emotion(out["point"]) == EMOTIONS.index("happy") and out["emotion"].value == "happy"
    assert out["wheel"].props["point"] == out["point"] and len(out["crops"]) == 2
    assert out["status"].startswith("The reference reads happy 8") and "Edited face 1 to **happy " in out["status"]
    path = api.match(app, {"path": str(BIDEN)}, {"path": str(OBAMA)}, "linear", "0", "0")
    assert Image.open(path).size == Image.open(BIDEN).size
    cat = tmp_path / "cat.png"
    Image.fromarray(skimage.data.chelsea()).save(cat)
    warned = ui_match.on_reference(app, key, "linear", "0", False, {"path": str(cat)})
    assert warned == {"status": "⚠️ reference photo: no face found in the image"}
    assert ui_match.on_reference(app, key, "linear", "0", False, None) == {}  # a cleared reference changes nothing


@pytest.mark.slow
def test_a_match_names_one_emotion_in_the_status_the_control_and_the_readout():
    """GGANmut with the bundled weights and classifier: obama2.jpg reads anger 37 %, but the average of
    its emotions' points leans to sad, in a mix that neutral leads. The status line's edit, the emotion
    control and the readout's target all name the emotion the point leans to, and the status says why."""
    import re

    from ganmut.weights import CLASSIFIER_FILE

    app = make_app(str(ROOT / "weights"), str(CLASSIFIER_FILE))
    key = upload(app, OBAMA, "gaussian")["photo_key"]
    for ref in ("obama2.jpg", "biden.jpg", "lfw-jacques-chirac.jpg"):
        out = ui_match.on_reference(app, key, "gaussian", "0", False, {"path": str(ROOT / "assets" / "examples" / ref)})
        edited = re.search(r"Edited face 1 to \*\*(\w+)", out["status"]).group(1)
        asked = re.search(r"you asked for <b>(\w+)</b>", out["readout"]).group(1)
        assert edited == out["emotion"].value == asked, (ref, out["status"], out["emotion"].value, asked)
        assert f"which averaged over the emotions' points is {edited}." in out["status"], out["status"]


@pytest.mark.slow
def test_readout_shows_the_classifier_or_says_it_is_off(linear_ckpt, gaussian_ckpt, tiny_classifier, tmp_path, monkeypatch):
    import ganmut.editor

    weights = f"{linear_ckpt},{gaussian_ckpt}"
    app = make_app(weights, str(tiny_classifier))
    out = upload(app, OBAMA)
    assert out["readout"].count('class="bar-row') == 7 and "emotion readout by tiny-classifier.safetensors" in out["readout"]
    assert "you asked for <b>happy</b>" in out["readout"]
    monkeypatch.setattr(ganmut.weights, "CLASSIFIER_FILE", tmp_path / "fer-classifier.safetensors")  # none bundled
    for spec, line in ((None, "emotion readout off: no classifier at weights/fer-classifier.safetensors"),
                       ("off", "emotion readout off (GANMUT_CLASSIFIER=off)"),
                       (str(tmp_path / "missing.safetensors"), "emotion readout off: ")):
        app = make_app(weights, spec)
        readout = upload(app, OBAMA)["readout"]
        assert "bar-row" not in readout and line in readout and readout.count("<p") == 1, readout
        assert app.models.edit("linear", app.models.prepare("linear", str(OBAMA)), (0.1, 0.2), 0).readings == []


@pytest.mark.slow
def test_an_intensity_typed_outside_its_range_is_clamped_in_one_line(server):
    """The slider's number box sends what was typed (then shows it clamped): the edit is at the clamped
    intensity, the controls agree, and the log gets one line; a value that is not a number is one line too."""
    tab = UISession(server.url)
    photo = {"photo": tab.upload(OBAMA), "model": "linear", "whole": False, "emotion": "sad", "intensity": 1.0}
    assert tab.run("photo", "change", photo).success
    logged = len(server.log.read_text(errors="replace"))
    view = {"model": "linear", "face": "0", "whole": False, "emotion": "sad"}
    for typed, bound in ((1.5, 1.0), (-3, 0.0)):
        clamped = tab.run("intensity", "release", {**view, "intensity": typed})
        exact = tab.run("intensity", "release", {**view, "intensity": bound})
        assert clamped.success and clamped.error is None, clamped.error
        assert clamped.named["status"] == exact.named["status"] and clamped.named["status"].startswith("Edited face 1")
        assert clamped.named["mix"] == exact.named["mix"]
    for junk in ("abc", None):
        refused = tab.run("intensity", "release", {**view, "intensity": junk})
        assert refused.success and refused.named["status"] == f"⚠️ intensity must be a number, got {junk!r}"
        assert refused.named["result"] == {"__type__": "update"}  # the view left as it was
    switched = tab.run("model", "input", {"model": "gaussian", "face": "0", "whole": False, "emotion": "sad",
                                          "intensity": 1.5})
    assert switched.success and switched.named["status"].startswith("Edited face 1"), switched.error
    tab.close()
    log = server.log.read_text(errors="replace")[logged:]
    assert "Traceback" not in log, log[-3000:]
    assert log.count("user error: intensity must be a number in [0, 1], got 1.5: 1 is used") == 2
    assert log.count("user error: intensity must be a number in [0, 1], got -3: 0 is used") == 1
    assert log.count("user error: intensity must be a number, got ") == 2


@pytest.mark.slow
def test_bad_wheel_events_get_one_line_and_the_wheel_keeps_working(server):
    """A wheel event's number is a whole number in 0..MAX_SEQ and its data is required: anything else
    is one line, never noted, so the page's next click is answered; no traceback in the log."""
    tab = UISession(server.url)
    photo = {"photo": tab.upload(OBAMA), "model": "linear", "whole": False, "emotion": "happy", "intensity": 1.0}
    assert tab.run("photo", "change", photo).success
    logged = len(server.log.read_text(errors="replace"))
    view = {"model": "linear", "face": "0", "whole": False}
    cases = [(None, "the wheel event carries no data; it takes {x, y, seq}"),
             ([1, 2], "the wheel event carries no data; it takes {x, y, seq}"),
             ({"x": 0.1, "y": 0.2, "seq": 1e30}, f"the wheel event's number must be a whole number in 0..{ui_picker.MAX_SEQ}, got 1e+30"),
             ({"x": 0.1, "y": 0.2, "seq": 2**63}, f"the wheel event's number must be a whole number in 0..{ui_picker.MAX_SEQ}, got {2**63}"),
             ({"x": 0.1, "y": 0.2, "seq": 2.5}, "the wheel event's number must be a whole number"),
             ({"x": 0.1, "y": 0.2, "seq": -1}, "the wheel event's number must be a whole number"),
             ({"x": 0.1, "y": 0.2, "seq": "abc"}, "the wheel event's number must be a number, got 'abc'")]
    for trigger in ("click", "input"):
        for data, says in cases:
            bad = tab.run("wheel", trigger, view, data)
            assert bad.success and bad.named["status"].startswith(f"⚠️ {says}"), (data, bad.error, bad.named)
            assert ("warning", bad.named["status"][3:]) in bad.toasts
    clicked = tab.run("wheel", "click", view, {"x": 0.3, "y": 0.4, "seq": 1})
    assert clicked.success and clicked.named["status"].startswith("Edited face 1") and clicked.named["wheel"] is not None
    tab.close()
    log = server.log.read_text(errors="replace")[logged:]
    assert "Traceback" not in log and log.count("user error: the wheel event") == 2 * len(cases), log[-3000:]


def test_the_hint_at_full_intensity_does_not_ask_for_a_point_further_out(linear_ckpt, gaussian_ckpt, tiny_classifier):
    """At 100 % no point lies further out: the hint says to try another face instead (the tiny classifier
    reads every edit as neutral, so the hint shows)."""
    app = make_app(f"{linear_ckpt},{gaussian_ckpt}", str(tiny_classifier))
    key = upload(app, OBAMA)["photo_key"]
    full = ui_picker.on_emotion(app, key, "linear", "0", False, "sad", 1.0)["readout"]
    half = ui_picker.on_emotion(app, key, "linear", "0", False, "sad", 0.5)["readout"]
    assert "Hint:" in full and "try a point further out" not in full and "at full intensity already: try another face" in full
    assert "try a point further out, or another face" in half
