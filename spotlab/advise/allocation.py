"""Where EAS places a service's instances: the dedicated group, then the pool in order.

EAS fills the dedicated resource group first, then walks the elastic pool's entries in
their configured order; each entry takes ``min(stock, capacity cap, remaining)``. Stock is
what the provider can give for that spec right now (user numbers here; the fleet
simulation replays traces). The seed's example:

>>> a = allocate(10, 2, parse_pool("ecs.gn8v-8x.48xlarge=3,ecs.gn8is-8x.32xlarge=2,"
...                                "ml.gu7i.c8m30.1-gu30=10"))
>>> list(a.counts().values())
[2, 3, 2, 3]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import polars as pl

from spotlab.errors import AnalysisError

DEDICATED = "dedicated_resource"


@dataclass(frozen=True)
class PoolEntry:
    """One entry of the elastic pool, in EAS order.

    ``stock``: instances of this spec obtainable now (None: unlimited, as for a regular
    fallback). ``capacity``: the entry's EAS cap, an integer or a percentage string such as
    ``"20%"`` of the service's instances (rounded down). ``spot``: whether the entry is spot
    (None when unknown; informational).
    """

    spec: str
    stock: int | None = None
    capacity: int | str | None = None
    spot: bool | None = None


class _HasEntries(Protocol):
    def pool_entries(self) -> list[PoolEntry]: ...


@dataclass(frozen=True)
class Placement:
    """Instances placed on one entry, with the reason."""

    position: int  # 0 = the dedicated group, then 1, 2, ... in pool order
    type: str
    spot: bool | None
    count: int
    stock: int | None
    cap: int | None
    remaining_before: int
    reason: str


@dataclass
class Allocation:
    """The result of :func:`allocate`: one placement per entry, and what is left unplaced."""

    needed: int
    placements: list[Placement] = field(default_factory=list)
    unplaced: int = 0

    def counts(self) -> dict[str, int]:
        """Instances per entry type, in order (entries that took none are left out)."""
        out: dict[str, int] = {}
        for p in self.placements:
            if p.count:
                out[p.type] = out.get(p.type, 0) + p.count
        return out

    @property
    def placed(self) -> int:
        return sum(p.count for p in self.placements)

    def frame(self) -> pl.DataFrame:
        """One row per entry: position, type, spot, count, stock, cap, remaining_before, reason."""
        schema = {
            "position": pl.Int64, "type": pl.String, "spot": pl.Boolean, "count": pl.Int64,
            "stock": pl.Int64, "cap": pl.Int64, "remaining_before": pl.Int64,
            "reason": pl.String,
        }  # fmt: skip
        return pl.DataFrame([asdict(p) for p in self.placements], schema=schema)

    def explain(self) -> str:
        """The placements as sentences, one per line, ending with the total."""
        lines = [p.reason for p in self.placements]
        total = f"{self.placed} of {self.needed} instances placed"
        if self.unplaced:
            total += (
                f"; {self.unplaced} could not be placed: every entry is out of stock or at "
                "its cap. End the list with a regular spec without a cap (unlimited stock)"
            )
        return "\n".join([*lines, total])

    def as_dict(self) -> dict[str, Any]:
        return {
            "needed": self.needed,
            "placed": self.placed,
            "unplaced": self.unplaced,
            "placements": [asdict(p) for p in self.placements],
        }


def cap_of(capacity: int | str | None, n: int) -> int | None:
    """An EAS capacity as an instance count: ``"20%"`` of ``n`` rounded down, or the integer.

    >>> cap_of("25%", 10), cap_of(4, 10), cap_of(None, 10)
    (2, 4, None)
    """
    if capacity is None:
        return None
    if isinstance(capacity, bool):
        raise AnalysisError(f"capacity must be an integer or a percentage, got {capacity!r}")
    if isinstance(capacity, int):
        if capacity < 0:
            raise AnalysisError(f"capacity must be >= 0, got {capacity}")
        return capacity
    text = str(capacity).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if m:
        pct = float(m.group(1))
        if pct > 100:
            raise AnalysisError(f"capacity {text} is above 100%")
        return math.floor(n * pct / 100.0 + 1e-9)
    if text.isdigit():
        return int(text)
    raise AnalysisError(f"capacity must be an integer or a percentage like '20%', got {text!r}")


def _entries(pool: Any, stock: Mapping[str, int | None] | None) -> list[PoolEntry]:
    if hasattr(pool, "pool_entries"):
        entries = list(pool.pool_entries())
    elif isinstance(pool, Mapping):
        entries = [PoolEntry(str(k), None if v is None else int(v)) for k, v in pool.items()]
    else:
        entries = []
        for i, e in enumerate(pool):
            if isinstance(e, PoolEntry):
                entries.append(e)
            elif isinstance(e, Mapping):
                spec = e.get("spec", e.get("type"))
                if not spec:
                    raise AnalysisError(f"pool entry {i} has no 'spec' (or 'type')")
                entries.append(
                    PoolEntry(str(spec), e.get("stock"), e.get("capacity"), e.get("spot"))
                )
            elif isinstance(e, tuple | list) and e:
                entries.append(PoolEntry(*e))
            else:
                raise AnalysisError(f"pool entry {i} is not a PoolEntry, mapping or tuple: {e!r}")
    if stock:
        # spot stock and regular stock differ: the override is for entries not marked regular
        entries = [
            PoolEntry(e.spec, stock[e.spec], e.capacity, e.spot)
            if e.spec in stock and e.spot is not False
            else e
            for e in entries
        ]
    return entries


def allocate(
    n: int,
    dedicated_free: int = 0,
    pool: Iterable[PoolEntry | Mapping[str, Any] | tuple[Any, ...]]
    | Mapping[str, int | None]
    | _HasEntries = (),
    stock: Mapping[str, int | None] | None = None,
) -> Allocation:
    """Place ``n`` instances as EAS does: the dedicated group, then the pool in order.

    ``pool``: :class:`PoolEntry` items (or mappings with spec/type, stock, capacity, spot,
    or tuples), a ``{spec: stock}`` mapping, or an ordering (anything with
    ``pool_entries()``, e.g. :class:`spotlab.advise.ordering.Ordering`). ``stock``
    overrides the stock of the specs it names, except on entries marked regular
    (``spot=False``), whose stock is the provider's on-demand capacity. Each entry takes
    ``min(stock, cap, remaining)``; a ``dedicated_resource`` entry inside the pool is
    skipped (the group is ``dedicated_free``).
    """
    if n < 0:
        raise AnalysisError(f"n must be >= 0, got {n}")
    if dedicated_free < 0:
        raise AnalysisError(f"dedicated_free must be >= 0, got {dedicated_free}")
    entries = [e for e in _entries(pool, stock) if e.spec != DEDICATED]
    result = Allocation(needed=n)
    remaining = n
    take = min(dedicated_free, remaining)
    result.placements.append(
        Placement(
            0, DEDICATED, False, take, dedicated_free, None, remaining,
            f"dedicated group first: {dedicated_free} free, {remaining} needed → {take} "
            f"placed, {remaining - take} left",
        )
    )  # fmt: skip
    remaining -= take
    for pos, e in enumerate(entries, start=1):
        cap = cap_of(e.capacity, n)
        if e.stock is not None and e.stock < 0:
            raise AnalysisError(f"stock of {e.spec} must be >= 0, got {e.stock}")
        limits = [remaining]
        if e.stock is not None:
            limits.append(e.stock)
        if cap is not None:
            limits.append(cap)
        take = min(limits)
        kind = "spot" if e.spot else "regular" if e.spot is False else None
        result.placements.append(
            Placement(pos, e.spec, e.spot, take, e.stock, cap, remaining,
                      _reason(pos, e.spec, kind, e.stock, cap, e.capacity, remaining, take))
        )  # fmt: skip
        remaining -= take
    result.unplaced = remaining
    return result


def _reason(
    pos: int,
    spec: str,
    kind: str | None,
    stock: int | None,
    cap: int | None,
    capacity: int | str | None,
    remaining: int,
    take: int,
) -> str:
    head = f"#{pos} {spec}" + (f" ({kind})" if kind else "")
    if remaining == 0:
        return f"{head}: not needed, every instance is already placed"
    stock_s = "unlimited stock" if stock is None else f"stock {stock}"
    cap_s = (
        "no cap"
        if cap is None
        else f"cap {cap}" + (f" ({capacity} of the service)" if isinstance(capacity, str) else "")
    )
    if take == remaining:
        why = "takes the remaining " + str(take)
    elif cap is not None and take == cap and (stock is None or cap <= stock):
        why = f"takes {take}, its cap"
    else:
        why = f"takes {take}, all its stock"
    return f"{head}: {stock_s}, {cap_s}, {remaining} still needed → {why}"


def parse_pool(text: str | Sequence[str]) -> list[PoolEntry]:
    """Pool entries from ``spec=stock[:cap],...`` (stock ``*`` = unlimited; cap an integer
    or ``N%``). A spec without ``=stock`` has unlimited stock.

    >>> [(e.spec, e.stock, e.capacity) for e in parse_pool("a=3,b=2:1,c=*:20%")]
    [('a', 3, None), ('b', 2, 1), ('c', None, '20%')]
    """
    parts = [text] if isinstance(text, str) else list(text)
    items = [p.strip() for part in parts for p in part.split(",") if p.strip()]
    out: list[PoolEntry] = []
    for item in items:
        spec, _, rest = item.partition("=")
        spec = spec.strip()
        if not spec:
            raise AnalysisError(f"pool entry {item!r} has no spec (use spec=stock[:cap])")
        stock_s, _, cap_s = rest.partition(":")
        stock_s = stock_s.strip()
        stock: int | None
        if stock_s in ("", "*", "inf", "unlimited"):
            stock = None
        elif stock_s.isdigit():
            stock = int(stock_s)
        else:
            raise AnalysisError(
                f"pool entry {item!r}: stock must be a whole number or '*', got {stock_s!r}"
            )
        cap: int | str | None = None
        cap_s = cap_s.strip()
        if cap_s:
            cap = int(cap_s) if cap_s.isdigit() else cap_s
            cap_of(cap, 100)  # validate the form now, with a message naming the entry
        out.append(PoolEntry(spec, stock, cap))
    return out
