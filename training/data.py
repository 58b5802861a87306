"""The training set resident on the device, sampled by index with a seeded generator.

The whole pack is copied to the device as uint8 (FER2013's train split is 63 MB) when it takes at
most a quarter of the free memory; otherwise it stays in pinned host memory and each batch is
gathered there and copied over. No DataLoader, no worker processes.

Each face also has a label distribution (a FER+ pack's votes, or a one-hot of its label), which D's
classification term on real faces learns from. ``class_balance`` ``b`` draws a face of class ``c``
(and a target ``c``) with a probability proportional to ``count(c) ** (1 - b)``: 0 samples the data
as it is, 1 gives every emotion the same share, so that fear and disgust (2 % and 1 % of FER+'s
faces) are seen and asked for as often as the others.
"""
from __future__ import annotations

import numpy as np
import torch

from .pack import Pack, PackError


class DeviceData:
    """Images (uint8 ``[N, C, H, W]``), labels and label distributions of a pack, plus batch sampling."""

    def __init__(self, pack: Pack, device: torch.device, class_balance: float = 0.0) -> None:
        if len(pack) == 0:
            raise PackError("the dataset pack holds no images")
        if not 0.0 <= class_balance <= 1.0:
            raise ValueError(f"class_balance must be in [0, 1], got {class_balance}")
        self.device = device
        self.meta = dict(pack.meta)
        images = torch.from_numpy(np.ascontiguousarray(pack.images))
        labels = torch.from_numpy(pack.labels.astype(np.int64))
        if device.type == "cuda" and images.numel() > torch.cuda.mem_get_info(device)[0] // 4:
            self.images, self.on_device = images.pin_memory(), False
        else:
            self.images, self.on_device = images.to(device), True
        self.labels = labels.to(device)
        self.votes = torch.from_numpy(pack.distributions().astype(np.float32)).to(device)
        counts = torch.bincount(labels, minlength=int(labels.max()) + 1).double()
        # per-face weights: count(c) ** (1 - b) per class spread over its count(c) faces
        self.weights = None if class_balance == 0 else (counts[labels] ** -class_balance).float().to(device)

    def __len__(self) -> int:
        return len(self.labels)

    def _index(self, n: int, gen: torch.Generator) -> torch.Tensor:
        if self.weights is None:
            return torch.randint(len(self), (n,), generator=gen, device=self.device)
        return torch.multinomial(self.weights, n, replacement=True, generator=gen)

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` images, labels and label distributions drawn with replacement (see the module docs)."""
        idx = self._index(n, gen)
        images = self.images[idx] if self.on_device else self.images[idx.cpu()].to(self.device, non_blocking=True)
        return images, self.labels[idx], self.votes[idx]

    def random_labels(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` target labels drawn as the faces are (the targets c =d c')."""
        return self.labels[self._index(n, gen)]

    def fixed(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` deterministic faces for sample grids: evenly spaced over the class-sorted set."""
        order = torch.argsort(self.labels.cpu(), stable=True)
        idx = order[torch.linspace(0, len(self) - 1, min(n, len(self))).round().long()]
        return self.images[idx].to(self.device), self.labels[idx.to(self.device)]
