"""``spotlab fetch``: the user's own cloud data and real prices, from the provider APIs.

>>> import spotlab as sl
>>> result = sl.fetch(sl.Store("my.duckdb"), "alibaba-spot-prices", region="cn-hangzhou",
...                   specs=["ecs.gn8is.2xlarge"])  # doctest: +SKIP

Each source calls one API with the provider's official SDK, writes every response page
under the raw dir (beside the database: ``my.raw/``) in the format the file readers take,
and ingests the pages in one transaction (see :mod:`spotlab.fetch.core`). Without
``since`` a price history starts at the newest stored point of each series.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from spotlab.errors import SpotlabError, did_you_mean
from spotlab.fetch.core import (
    ENDPOINT_ENV,
    Context,
    Endpoint,
    FetchResult,
    Retry,
    Source,
    parse_since,
    run,
)
from spotlab.store import Store

#: the sources ``spotlab fetch`` takes, in the order the README lists them
SOURCE_NAMES: tuple[str, ...] = (
    "alibaba-spot-prices", "alibaba-spot-advice", "alibaba-prices", "eas-spot-discounts",
    "eas-specs", "aws-spot-prices", "aws-prices", "aws-placement-scores", "aws-spot-advisor",
)  # fmt: skip


def source_of(name: str) -> Source:
    """The source called ``name``. Only its provider's SDK is imported (the ECS one alone
    takes about a second), and only when fetching, not on ``import spotlab``."""
    if name not in SOURCE_NAMES:
        raise SpotlabError(
            f"unknown fetch source {name!r}.{did_you_mean(name, SOURCE_NAMES)} "
            f"Sources: {', '.join(SOURCE_NAMES)}"
        )
    if name.startswith("aws-"):
        from spotlab.fetch import aws

        found: list[Source] = [
            aws.AwsSpotPrices(),
            aws.AwsPrices(),
            aws.AwsPlacementScores(),
            aws.AwsSpotAdvisor(),
        ]
    elif name.startswith("eas-"):
        from spotlab.fetch import eas

        found = [eas.EasSpotDiscounts(), eas.EasSpecs()]
    else:
        from spotlab.fetch import alibaba

        found = [alibaba.AlibabaSpotPrices(), alibaba.AlibabaSpotAdvice(), alibaba.AlibabaPrices()]
    return next(s for s in found if s.name == name)


def fetch(
    store: Store,
    source: str,
    region: str | None = None,
    specs: Sequence[str] = (),
    since: str | datetime | None = None,
    profile: str | None = None,
    raw_dir: str | Path | None = None,
    endpoint: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    retry: Retry | None = None,
    now: datetime | None = None,
) -> FetchResult:
    """Fetch ``source`` for ``region`` (and ``specs``) into ``store``; one transaction.

    ``since``: ``"30d"`` or an ISO date/time (default: from the newest stored point, else
    30 days). ``profile``: a credentials profile of the provider's standard chain.
    ``raw_dir``: where pages go (default beside the database). ``endpoint``: **for tests
    only**, a local replay server (``http://127.0.0.1:PORT``; default
    ``$SPOTLAB_FETCH_ENDPOINT``) that every SDK client is pointed at. ``sleep`` waits
    between retries (tests pass a recorder).
    """
    chosen = source_of(source)
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    ctx = Context(
        source=source,
        region=region,
        specs=tuple(dict.fromkeys(s.strip() for s in specs if s.strip())),
        since=parse_since(since, at),
        profile=profile,
        endpoint=Endpoint.parse(endpoint if endpoint is not None else os.environ.get(ENDPOINT_ENV)),
        now=at,
        sleep=sleep,
        retry=retry or Retry(),
    )
    return run(store, chosen, ctx, Path(raw_dir) if raw_dir is not None else None)


__all__ = ["ENDPOINT_ENV", "SOURCE_NAMES", "FetchResult", "Retry", "fetch", "source_of"]
