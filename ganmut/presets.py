"""Named points of the emotion space, saved to apply again to other photos.

A preset is a model name and a code: ``{"model": "linear", "z": [x, y]}``, nothing more: a preset
with another key, or JSON that repeats a key (a preset's or a name in the file), is refused in one
line rather than read one way or another. The CLI and the Python API keep presets in one JSON file, ``$GANMUT_PRESETS`` or ``~/.config/ganmut/presets.json``, through
:class:`PresetStore`; writes are atomic, so a crash never leaves a half-written file, and a damaged
file is reported in one line rather than silently replaced. The app keeps each visitor's presets in
their browser, in the same JSON form, checked by the same functions (:func:`parse_presets`,
:func:`add_preset`, :func:`parse_preset`).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import GanmutError, number, shorten
from .files import atomic_path

FORMAT_VERSION = 1
KEYS = ("model", "z")
MAX_PRESETS = 200
NAME = re.compile(r"^[\w][\w .-]{0,39}$")
"""Letters, digits, spaces, ``_``, ``.`` and ``-``; 1 to 40 characters, not starting with a space or dot."""


class PresetError(GanmutError):
    """A bad preset name or value, an unknown preset, or an unreadable presets file."""


class RepeatedKey(ValueError):
    """JSON text that gives a key twice in one object."""


def _unique(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise RepeatedKey(key)
        seen[key] = value
    return seen


def loads(text: str | bytes) -> object:
    """JSON text as Python values; RepeatedKey for a key given twice in one object, ValueError for
    text that is not JSON or nests too deep to read."""
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except RecursionError:
        raise ValueError("nested too deep") from None


@dataclass(frozen=True)
class Preset:
    model: str
    z: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"model": self.model, "z": list(self.z)}


def default_path() -> Path:
    return Path(os.environ.get("GANMUT_PRESETS") or Path.home() / ".config" / "ganmut" / "presets.json")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PresetError(f"preset name {shorten(name)} must be 1 to 40 letters, digits, spaces, '_', '.' or '-'")
    return name


def parse_preset(value, name: str | None = None) -> Preset:
    """A preset from its JSON form ``{"model": ..., "z": [...]}`` (a dict, or its JSON text);
    ``name`` names it in messages."""
    label = f"preset {shorten(name)}" if name is not None else "the preset"
    if isinstance(value, (str, bytes)):
        if len(value) > 1000:
            raise PresetError(f"{label} is too long ({len(value)} characters)")
        try:
            value = loads(value)
        except RepeatedKey as e:
            raise PresetError(f"{label} gives the key {shorten(e.args[0])} twice") from None
        except ValueError:
            raise PresetError(f"{label} is not JSON: give {{\"model\": \"linear\", \"z\": [x, y]}}") from None
    if not isinstance(value, dict) or not isinstance(value.get("model"), str) or not isinstance(value.get("z"), (list, tuple)):
        raise PresetError(f"{label} is malformed: give {{\"model\": \"linear\", \"z\": [x, y]}}")
    unknown = [k for k in value if k not in KEYS]
    if unknown:
        raise PresetError(f"{label} has unknown keys {shorten(unknown)}: give only {{\"model\": ..., \"z\": [x, y]}}")
    model, raw = value["model"], value["z"]
    if not 1 <= len(model) <= 200 or not 1 <= len(raw) <= 16:
        raise PresetError(f"{label} is malformed: a model name of 1 to 200 characters and 1 to 16 numbers")
    try:
        z = tuple(number(v, "z") for v in raw)
    except ValueError:
        raise PresetError(f"{label} has a code that is not finite numbers") from None
    return Preset(model, z)


def parse_presets(items) -> dict[str, Preset]:
    """Presets by name from their JSON form ``{name: {"model": ..., "z": [...]}}``."""
    if not isinstance(items, dict) or len(items) > MAX_PRESETS:
        raise PresetError(f"presets must be a mapping of at most {MAX_PRESETS} names to points")
    return {check_name(name): parse_preset(value, name) for name, value in items.items()}


def add_preset(presets: dict[str, Preset], name: str, model: str, z) -> dict[str, Preset]:
    """``presets`` with ``name`` saved (or replaced), sorted by name; PresetError past :data:`MAX_PRESETS`."""
    preset = parse_preset({"model": model, "z": z}, check_name(name))
    if name not in presets and len(presets) >= MAX_PRESETS:
        raise PresetError(f"at most {MAX_PRESETS} presets; delete one first")
    return dict(sorted({**presets, name: preset}.items()))


def to_json(presets: dict[str, Preset]) -> dict:
    """The JSON form of presets by name (what :func:`parse_presets` reads)."""
    return {k: p.to_dict() for k, p in sorted(presets.items())}


class PresetStore:
    """The presets file: ``list``, ``get``, ``save``, ``delete``."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    def list(self) -> dict[str, Preset]:
        if not self.path.exists():
            return {}
        try:
            data = loads(self.path.read_text())
            items = data["presets"]
            if data.get("version") != FORMAT_VERSION or not isinstance(items, dict):
                raise ValueError
        except RepeatedKey as e:
            raise PresetError(f"{self.path.name} gives the key {shorten(e.args[0])} twice; fix or remove it") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise PresetError(f"{self.path.name} is not a readable presets file; fix or remove it") from None
        return parse_presets(items)

    def get(self, name: str) -> Preset:
        presets = self.list()
        if name not in presets:
            known = ", ".join(sorted(presets)) or "none saved yet"
            raise PresetError(f"no preset named {shorten(name)} (known: {shorten(known)})")
        return presets[name]

    def save(self, name: str, model: str, z) -> Preset:
        presets = add_preset(self.list(), name, model, z)
        self._write(presets)
        return presets[name]

    def delete(self, name: str) -> None:
        presets = self.list()
        if presets.pop(name, None) is None:
            raise PresetError(f"no preset named {shorten(name)}")
        self._write(presets)

    def _write(self, presets: dict[str, Preset]) -> None:
        data = {"version": FORMAT_VERSION, "presets": to_json(presets)}
        try:
            with atomic_path(self.path) as tmp:
                tmp.write_text(json.dumps(data, indent=1) + "\n")
        except OSError as e:
            raise PresetError(f"cannot write {self.path.name}: {e.strerror or type(e).__name__}") from None
