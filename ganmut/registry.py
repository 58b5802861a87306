"""The one list of served models and of the training lineages that produce them.

The editor (names, aliases and files of the bundled models), the web app (their labels) and the training
session (which recipes it continues, where their states live, which served file each may replace) all read
this module, so a new model is one entry here, one recipe in ``configs/`` and, once it passes the quality
floor, one file in ``weights/``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServedModel:
    """A bundled model: its name (what ``ganmut.load`` and the app's model choice take), the space it edits in,
    its file under ``weights/``, its label in the app and other names it answers to."""

    name: str
    kind: str
    file: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lineage:
    """A model that ``python -m training.session`` continues: its recipe (``configs/ganmut-<name>.toml``), its
    training state (``weights/training-state/ganmut-<name>.safetensors``) and the served model it replaces when
    it passes the floor and beats it (None: a candidate, judged and continued, served only by hand)."""

    name: str
    serves: str | None

    @property
    def config(self) -> str:
        return f"ganmut-{self.name}.toml"

    @property
    def state_file(self) -> str:
        return f"ganmut-{self.name}.safetensors"


SERVED: tuple[ServedModel, ...] = (
    ServedModel("linear", "linear", "ganmut-linear.safetensors", "GANmut (linear)", ("ganmut",)),
    ServedModel("gaussian", "gaussian", "ganmut-gaussian.safetensors", "GGANmut (Gaussian)", ("gganmut",)),
)
LINEAGES: tuple[Lineage, ...] = (
    Lineage("linear", "linear"),
    Lineage("gaussian", "gaussian"),
    Lineage("linear-warp", None),  # the warp output (photographic edits), until it beats the residual model
)


def served(name: str) -> ServedModel:
    """The served model called ``name`` (KeyError when there is none)."""
    for m in SERVED:
        if m.name == name:
            return m
    raise KeyError(name)


def lineage(name: str) -> Lineage:
    """The training lineage called ``name`` (KeyError when there is none)."""
    for line in LINEAGES:
        if line.name == name:
            return line
    raise KeyError(name)
