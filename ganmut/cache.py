"""The editor's caches, bounded by memory: :class:`ByteLRU`, a least-recently-used map bounded by the
bytes of its values, which :func:`nbytes` measures (arrays, tensors, images)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np
import torch
from PIL import Image

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MB = 1024 * 1024


def nbytes(*parts: object) -> int:
    """Bytes held by numpy arrays, torch tensors and PIL images among ``parts`` (nested in lists,
    tuples and dicts; other objects count 0)."""
    total = 0
    for p in parts:
        if isinstance(p, np.ndarray):
            total += p.nbytes
        elif isinstance(p, torch.Tensor):
            total += p.element_size() * p.nelement()
        elif isinstance(p, Image.Image):
            total += _image_bytes(p)
        elif isinstance(p, (list, tuple)):
            total += nbytes(*p)
        elif isinstance(p, dict):
            total += nbytes(*p.values())
    return total


def _image_bytes(img: Image.Image) -> int:
    """Memory of a PIL image's pixels: PIL keeps 1 byte a pixel for modes 1, L and P, 2 for
    16-bit modes and 4 for every other mode (multi-band pixels are stored as 32 bits)."""
    per = 1 if img.mode in ("1", "L", "P") else 2 if img.mode.startswith("I;16") else 4
    return img.width * img.height * per


class ByteLRU(Generic[K, V]):
    """A least-recently-used map holding at most ``max_bytes`` of values, as ``sizeof`` measures
    them; a value larger than that alone is not kept. Thread-safe."""

    def __init__(self, max_bytes: int, sizeof: Callable[[V], int] = nbytes) -> None:
        self.max_bytes = int(max_bytes)
        self._sizeof = sizeof
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used) or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: K, value: V) -> bool:
        """Keep ``value`` under ``key``, evicting the least recently used values to make room;
        False (and ``key`` dropped) when the value alone exceeds ``max_bytes``."""
        size = self._sizeof(value)
        with self._lock:
            self._drop(key)
            if size > self.max_bytes:
                return False
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))
            return True

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value or None."""
        with self._lock:
            return self._drop(key)

    def _drop(self, key: K) -> V | None:
        hit = self._items.pop(key, None)
        if hit is None:
            return None
        self._bytes -= hit[1]
        return hit[0]
