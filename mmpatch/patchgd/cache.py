"""A host-memory cache of each sample's Z between epochs."""
from dataclasses import dataclass
from typing import Dict, Hashable, List, Optional, Tuple

import torch
from torch import Tensor

#: metainfo that changes the pixels a sample's Z was computed from
TRANSFORM_KEYS = ('img_shape', 'flip', 'flip_direction', 'scale_factor')


@dataclass
class _Entry:
    maps: List[Tensor]  # per level (C_l, Hz_l, Wz_l), on the host
    grid: Tuple[int, int]
    age: int  # times reused since the last fill


class HostLatentCache:
    """Keeps each sample's Z on the host so later visits skip the fill.

    An entry is keyed by ``img_path`` and the transform metainfo (flip,
    scale), so an augmented view never reuses another view's features. A
    visit that finds a fresh-enough entry starts from it instead of filling;
    with ``keep_updates`` the patches re-encoded in that step are written
    back. Every ``refresh_interval`` visits of a sample (epochs, for a
    sample seen once per epoch) its Z is filled again with current weights.

    Args:
        refresh_interval (int): visits per fill; 1 never reuses.
    """

    def __init__(self, refresh_interval: int = 2) -> None:
        if not (isinstance(refresh_interval, int) and refresh_interval >= 1):
            raise ValueError('latent_cache.refresh_interval must be an int '
                             f'>= 1, got {refresh_interval!r}')
        self.refresh_interval = refresh_interval
        self.entries: Dict[Hashable, _Entry] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(sample) -> Optional[Hashable]:
        meta = sample.metainfo
        if 'img_path' not in meta:
            return None
        extra = tuple(str(meta.get(k)) for k in TRANSFORM_KEYS)
        return (meta['img_path'], ) + extra

    def lookup(self, data_samples: list, grid,
               device: torch.device) -> Optional[List[Tensor]]:
        """Batched maps ``(B, C_l, Hz_l, Wz_l)`` if every sample is cached."""
        keys = [self.key(s) for s in data_samples]
        entries = [self.entries.get(k) for k in keys]
        shape = (grid.rows, grid.cols)
        if any(e is None or e.grid != shape
               or e.age + 1 >= self.refresh_interval for e in entries):
            self.misses += 1
            return None
        self.hits += 1
        for e in entries:
            e.age += 1
        return [
            torch.stack([e.maps[level] for e in entries]).to(device)
            for level in range(len(entries[0].maps))
        ]

    def store(self, data_samples: list, grid, maps: List[Tensor],
              filled: bool) -> None:
        """Keep each sample's slice of ``maps``; ``filled`` resets its age."""
        for i, sample in enumerate(data_samples):
            key = self.key(sample)
            if key is None:
                continue
            old = self.entries.get(key)
            age = 0 if filled or old is None else old.age
            self.entries[key] = _Entry(
                [m[i].detach().to('cpu', copy=True) for m in maps],
                (grid.rows, grid.cols), age)

    @property
    def nbytes(self) -> int:
        return sum(m.numel() * m.element_size() for e in self.entries.values()
                   for m in e.maps)

    def state_dict(self) -> dict:
        return dict(
            refresh_interval=self.refresh_interval,
            entries={
                repr(k): dict(key=list(k), maps=e.maps, grid=list(e.grid),
                              age=e.age)
                for k, e in self.entries.items()
            })

    def load_state_dict(self, state: dict) -> None:
        self.entries = {
            tuple(v['key']): _Entry(list(v['maps']), tuple(v['grid']),
                                    int(v['age']))
            for v in state.get('entries', {}).values()
        }
