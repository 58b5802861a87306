"""The one place that names the emotions and fixes their order.

The order is the official GANmut / AffectNet label order: index 0 is neutral.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from .errors import number, shorten

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger")
NEUTRAL = 0
N_EMOTIONS = len(EMOTIONS)

# Folder and CSV spellings seen in public datasets, mapped to the canonical names.
ALIASES: dict[str, str] = {
    "angry": "anger",
    "happiness": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "fearful": "fear",
    "scared": "fear",
    "disgusted": "disgust",
    "contempt": "disgust",
}

# Colours used by every plot of the space (wheel, grids, bar charts), one per emotion.
COLORS: tuple[str, ...] = ("#9e9e9e", "#f2c12e", "#3f6fd8", "#f08c2e", "#8e44ad", "#3a9d4f", "#d63a3a")


def emotion_index(name: str | int) -> int:
    """Index of an emotion given its name (case-insensitive, common aliases allowed) or index.

    Raises ``ValueError`` with the list of valid names for anything else.
    """
    if isinstance(name, int) and not isinstance(name, bool):
        if 0 <= name < N_EMOTIONS:
            return name
        raise ValueError(f"emotion index {name} is out of range 0..{N_EMOTIONS - 1}")
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key in EMOTIONS:
        return EMOTIONS.index(key)
    raise ValueError(f"unknown emotion {shorten(name)}; choose one of: {', '.join(EMOTIONS)}")


def mix_vector(probabilities: Mapping[str, float] | Sequence[float]) -> list[float]:
    """An emotion mix in :data:`EMOTIONS` order, scaled to sum to 1: from ``{emotion: probability}``
    (names or aliases; a missing emotion counts 0) or from 7 numbers. ValueError, in one line, for
    anything that is not non-negative finite shares with a positive sum."""
    if isinstance(probabilities, Mapping):
        pairs = [(emotion_index(name), p) for name, p in probabilities.items()]
    else:
        try:
            items = [] if isinstance(probabilities, (str, bytes)) else list(probabilities)
        except TypeError:
            items = []
        if len(items) != N_EMOTIONS:
            raise ValueError(f"an emotion mix is {N_EMOTIONS} numbers ({', '.join(EMOTIONS)}), got {shorten(probabilities)}")
        pairs = list(enumerate(items))
    values = [0.0] * N_EMOTIONS
    for i, p in pairs:
        values[i] += number(p, f"the share of {EMOTIONS[i]}", (0.0, math.inf))
    total = math.fsum(values)
    if not 0 < total < math.inf:
        raise ValueError("an emotion mix needs a positive, finite sum of shares")
    return [v / total for v in values]
