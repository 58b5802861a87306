"""The one place that names the emotions and fixes their order.

The order is the official GANmut / AffectNet label order: index 0 is neutral.
"""
from __future__ import annotations

from .errors import shorten

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
