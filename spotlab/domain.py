"""Domain constants and rules, one home each: every module reads them from here.

- :data:`HOURS_PER_MONTH`: spotlab's one month, 730 h (365 days × 24 h ÷ 12). Every
  "per month" figure (costs, reclaims, interruption rates) uses it.
- :data:`WARNING_LEAD_SECONDS`: the reclaim notice per provider (domain.md §1.4, §6:
  Alibaba about 5 min, AWS 2 min; GCP and Azure document 30 s).
- :data:`RULE_FRACTION`: the seed's rule of thumb, bid 20 % of the pay-as-you-go price.
- Bid rounding: a bid is rounded **up** to its price tick (0.01, or 0.001 under 1), so it
  is never below the level it was derived from.
- :func:`region_of_zone` and :func:`family_of_spec`, each in three renderings of one rule
  (Python, DuckDB SQL, polars) that a test keeps identical.
"""

from __future__ import annotations

import math
import re

import polars as pl

from spotlab.errors import AnalysisError, did_you_mean

#: one month, in hours: 365 × 24 / 12
HOURS_PER_MONTH = 730.0
#: one month, in days (730 h / 24)
DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0

#: seconds between the reclaim warning and the instance going away
WARNING_LEAD_SECONDS: dict[str, float] = {
    "alibaba": 300.0,
    "aws": 120.0,
    "gcp": 30.0,
    "azure": 30.0,
}

#: notice assumed for a provider not in :data:`WARNING_LEAD_SECONDS` (AWS's two minutes)
DEFAULT_WARNING_LEAD_SECONDS = 120.0

#: currency of prices a provider quotes when none is given
PROVIDER_CURRENCY: dict[str, str] = {"alibaba": "CNY", "aws": "USD", "gcp": "USD", "azure": "USD"}

#: the seed's rule of thumb: bid 20 % of the pay-as-you-go (catalog) price
RULE_FRACTION = 0.2

#: bid rounding step for bids of 1 or more (per hour, in the price's currency)
PRICE_TICK = 0.01
#: bid rounding step below 1 (the APIs' prices carry three decimals)
SMALL_PRICE_TICK = 0.001


def warning_lead_seconds(provider: str) -> float:
    """Seconds of reclaim notice the provider gives; unknown providers fail with a hint."""
    key = provider.lower()
    if key not in WARNING_LEAD_SECONDS:
        raise AnalysisError(
            f"no reclaim warning lead time known for provider {provider!r}."
            f"{did_you_mean(key, WARNING_LEAD_SECONDS)} Pass the lead time in seconds "
            f"(known: {', '.join(WARNING_LEAD_SECONDS)})"
        )
    return WARNING_LEAD_SECONDS[key]


def rule20_bid(on_demand: float) -> float:
    """The seed's bid: :data:`RULE_FRACTION` of the on-demand price."""
    return RULE_FRACTION * on_demand


def price_tick(value: float) -> float:
    """The rounding step of a bid near ``value``."""
    return SMALL_PRICE_TICK if value < 1 else PRICE_TICK


def bid_text(value: float, tick: float | None = None) -> str:
    """A bid or price as people read it: the digits of its tick (``8.00``, ``0.043``; a
    finer ``tick`` shows more).

    >>> bid_text(8.0), bid_text(0.043), bid_text(0.0425, tick=0.0001)
    ('8.00', '0.043', '0.0425')
    """
    decimals = 3 if (tick is not None and tick < PRICE_TICK) or abs(value) < 1 else 2
    if tick is not None and tick < SMALL_PRICE_TICK:
        decimals = max(decimals, len(f"{tick:.10f}".rstrip("0").split(".")[1]))
    return f"{value:.{decimals}f}"


#: tolerance of the rounding: a value within a 10^-7 tick of a step stays on it
_ROUND_SLACK = 1e-7


def round_bid_up(value: float, tick: float | None = None) -> float:
    """``value`` rounded up to ``tick`` (default :func:`price_tick`): never below it.

    >>> round_bid_up(0.0425), round_bid_up(6.851), round_bid_up(2.88)
    (0.043, 6.86, 2.88)
    """
    if not math.isfinite(value):
        raise AnalysisError(f"a bid must be a finite number, got {value!r}")
    t = price_tick(value) if tick is None else tick
    if not (math.isfinite(t) and t > 0):
        raise AnalysisError(f"a price tick must be positive, got {t!r}")
    return round(math.ceil(value / t - _ROUND_SLACK) * t, 6)


def round_bid_up_expr(value: pl.Expr, tick: pl.Expr) -> pl.Expr:
    """:func:`round_bid_up` for polars columns."""
    return ((value / tick - _ROUND_SLACK).ceil() * tick).round(6)


# -- region of a zone ---------------------------------------------------------------------
# ``cn-hangzhou-h`` → ``cn-hangzhou`` (Alibaba: a letter after a dash); ``us-east-1a`` →
# ``us-east-1`` (AWS, GCP zones: a letter after the region's number); anything else is its
# own region (GCP prices are per region, so spotlab stores zone = region there).

_AWS_ZONE = r"^[a-z]+-[a-z]+-\d+[a-z]$"
_DASH_ZONE = r"^[a-z]+-[a-z0-9]+-[a-z]$"


def region_of_zone(zone: str) -> str:
    """Region of a zone id.

    >>> region_of_zone("cn-hangzhou-h"), region_of_zone("us-east-1a")
    ('cn-hangzhou', 'us-east-1')
    """
    if re.search(_AWS_ZONE, zone):
        return zone[:-1]
    if re.search(_DASH_ZONE, zone):
        return zone[:-2]
    return zone


def region_of_zone_sql(zone_sql: str) -> str:
    """:func:`region_of_zone` as a DuckDB SQL expression over ``zone_sql``."""
    return (
        f"CASE WHEN regexp_matches({zone_sql}, '{_AWS_ZONE}') "
        f"THEN left({zone_sql}, length({zone_sql}) - 1) "
        f"WHEN regexp_matches({zone_sql}, '{_DASH_ZONE}') "
        f"THEN left({zone_sql}, length({zone_sql}) - 2) ELSE {zone_sql} END"
    )


def region_of_zone_expr(zone: pl.Expr) -> pl.Expr:
    """:func:`region_of_zone` for a polars column."""
    z = zone.cast(pl.String)
    return (
        pl.when(z.str.contains(_AWS_ZONE))
        .then(z.str.slice(0, z.str.len_chars() - 1))
        .when(z.str.contains(_DASH_ZONE))
        .then(z.str.slice(0, z.str.len_chars() - 2))
        .otherwise(z)
    )


# -- family of a spec ---------------------------------------------------------------------
# ``ecs.gn7i-c8g1.2xlarge`` → ``ecs.gn7i`` and ``ml.gu7i.c8m30.1-gu30`` → ``ml.gu7i``
# (Alibaba: product prefix + family); ``p3.2xlarge`` → ``p3`` (AWS: before the size);
# ``a2-highgpu-1g`` → ``a2-highgpu`` (GCP: without the trailing GPU count).

_ALIBABA_SPEC = r"^(ecs|ml)\."
_ALIBABA_FAMILY = r"^([a-z]+\.[a-z0-9]+)"
_GCP_COUNT = r"-\d+g?$"


def family_of_spec(spec: str) -> str:
    """Instance family of a spec name.

    >>> family_of_spec("ecs.gn7i-c8g1.2xlarge"), family_of_spec("p3.2xlarge")
    ('ecs.gn7i', 'p3')
    >>> family_of_spec("a2-highgpu-1g")
    'a2-highgpu'
    """
    if re.search(_ALIBABA_SPEC, spec):
        m = re.search(_ALIBABA_FAMILY, spec)
        return m.group(1) if m else ""
    if "." in spec:
        return spec.split(".", 1)[0]
    return re.sub(_GCP_COUNT, "", spec, count=1)


def family_of_spec_sql(spec_sql: str) -> str:
    """:func:`family_of_spec` as a DuckDB SQL expression over ``spec_sql``."""
    return (
        f"CASE WHEN regexp_matches({spec_sql}, '{_ALIBABA_SPEC}') "
        f"THEN regexp_extract({spec_sql}, '{_ALIBABA_FAMILY}', 1) "
        f"WHEN contains({spec_sql}, '.') THEN split_part({spec_sql}, '.', 1) "
        f"ELSE regexp_replace({spec_sql}, '{_GCP_COUNT}', '') END"
    )


def family_of_spec_expr(spec: pl.Expr) -> pl.Expr:
    """:func:`family_of_spec` for a polars column."""
    s = spec.cast(pl.String)
    return (
        pl.when(s.str.contains(_ALIBABA_SPEC))
        .then(s.str.extract(_ALIBABA_FAMILY, 1).fill_null(""))
        .when(s.str.contains(".", literal=True))
        .then(s.str.split(".").list.first())
        .otherwise(s.str.replace(_GCP_COUNT, ""))
    )
