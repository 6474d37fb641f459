"""The memory cache of a local directory (cachefs) as a ``storage[]`` entry.

The exact JSON of this entry is **not confirmed** (``docs/domain.md`` §2). The best reading
is a second storage entry next to the OSS mount of the model::

    {"mount_path": "/models-src", "oss": {"path": "oss://bucket/models/", "readOnly": true}}
    {"mount_path": "/models", "cache": {"path": "/models-src", "capacity": "20G"}}

where ``cache.path`` is the OSS-mounted source directory and ``mount_path`` the cached,
read-only view the service reads from. Everything spotlab knows about that shape lives in
this module (the key names, :func:`memory_cache_entry` that writes it and
:func:`memory_caches` that reads it back), so a correction is a change here only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: the storage entry's key holding the cache (unconfirmed, see the module docstring)
KEY = "cache"
#: inside it: the OSS-mounted source directory, and the cache size ("20G")
SOURCE_KEY = "path"
CAPACITY_KEY = "capacity"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_FACTOR = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_FACTOR_I = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


@dataclass(frozen=True)
class MemoryCache:
    """One memory-cache entry found in a config: where it is and how big it may grow."""

    index: int  # position in ``storage[]``
    mount_path: str | None
    source_path: str | None
    capacity: str | None

    @property
    def capacity_gib(self) -> float | None:
        return size_gib(self.capacity) if self.capacity is not None else None


def memory_cache_entry(source_path: str, mount_path: str, capacity_gb: float) -> dict[str, Any]:
    """The ``storage[]`` entry caching ``source_path`` (an OSS mount) in memory.

    ``capacity_gb`` (decimal GB) is rounded up to whole GB and written as ``"<n>G"``.

    >>> memory_cache_entry("/models-src", "/models", 7.2)
    {'mount_path': '/models', 'cache': {'path': '/models-src', 'capacity': '8G'}}
    """
    return {
        "mount_path": mount_path,
        KEY: {SOURCE_KEY: source_path, CAPACITY_KEY: f"{math.ceil(capacity_gb)}G"},
    }


def memory_caches(storage: Sequence[Mapping[str, Any]] | None) -> list[MemoryCache]:
    """The memory-cache entries of a ``storage`` list (plain dicts, as in the JSON)."""
    out: list[MemoryCache] = []
    for i, entry in enumerate(storage or []):
        cache = entry.get(KEY) if isinstance(entry, Mapping) else None
        if isinstance(cache, Mapping):
            cap = cache.get(CAPACITY_KEY)
            src = cache.get(SOURCE_KEY)
            out.append(
                MemoryCache(
                    index=i,
                    mount_path=entry.get("mount_path"),
                    source_path=src if isinstance(src, str) else None,
                    capacity=str(cap) if cap is not None else None,
                )
            )
    return out


def size_gib(text: str | int | float) -> float | None:
    """A size such as ``"20G"``, ``"20Gi"``, ``"512M"`` or a bare number (GB) in GiB.

    Decimal units (G, GB) are 10^9 bytes, binary ones (Gi, GiB) 2^30; a bare number is taken
    as GB. Returns None when the text is not a size.

    >>> round(size_gib("20Gi"), 3), round(size_gib("20G"), 3)
    (20.0, 18.626)
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text) * 1e9 / 2**30
    m = _SIZE.match(text)
    if not m:
        return None
    value, unit = float(m.group(1)), (m.group(2) or "G").upper()
    if unit == "B":
        return value / 2**30
    letter = unit[0]
    factor = _FACTOR_I[letter] if "I" in unit else _FACTOR[letter]
    return value * factor / 2**30
