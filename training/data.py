"""The training set resident on the device, sampled by index with a seeded generator.

The whole pack is copied to the device as uint8 (FER2013's train split is 63 MB) when it takes at
most a quarter of the free memory; otherwise it stays in pinned host memory and each batch is
gathered there and copied over. No DataLoader, no worker processes.
"""
from __future__ import annotations

import numpy as np
import torch

from .pack import Pack, PackError


class DeviceData:
    """Images (uint8 ``[N, C, H, W]``) and labels of a pack, plus batch sampling."""

    def __init__(self, pack: Pack, device: torch.device) -> None:
        if len(pack) == 0:
            raise PackError("the dataset pack holds no images")
        self.device = device
        self.meta = dict(pack.meta)
        images = torch.from_numpy(np.ascontiguousarray(pack.images))
        labels = torch.from_numpy(pack.labels.astype(np.int64))
        if device.type == "cuda" and images.numel() > torch.cuda.mem_get_info(device)[0] // 4:
            self.images, self.on_device = images.pin_memory(), False
        else:
            self.images, self.on_device = images.to(device), True
        self.labels = labels.to(device)

    def __len__(self) -> int:
        return len(self.labels)

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` images and labels drawn uniformly with replacement."""
        idx = torch.randint(len(self), (n,), generator=gen, device=self.device)
        if self.on_device:
            return self.images[idx], self.labels[idx]
        return self.images[idx.cpu()].to(self.device, non_blocking=True), self.labels[idx]

    def random_labels(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` labels drawn from the data's label distribution (the targets c =d c')."""
        return self.labels[torch.randint(len(self), (n,), generator=gen, device=self.device)]

    def fixed(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` deterministic faces for sample grids: evenly spaced over the class-sorted set."""
        order = torch.argsort(self.labels.cpu(), stable=True)
        idx = order[torch.linspace(0, len(self) - 1, min(n, len(self))).round().long()]
        return self.images[idx].to(self.device), self.labels[idx.to(self.device)]
