"""Fleet simulation: replay spot availability against deployment policies, and plan scaling.

>>> from spotlab.fleet import Pool, poisson_market, simulate, SpotHedge  # doctest: +SKIP

- :mod:`spotlab.fleet.market`: pools, capacity and prices over time (trace replay or a
  seeded Poisson model);
- :mod:`spotlab.fleet.simulate`: the discrete-time simulator and its results;
- :mod:`spotlab.fleet.policies`: all regular, one spot pool, EAS ordered (with and without
  resource rebalancing), dedicated floor, SpotHedge, and :class:`EasService` (what one EAS
  config does);
- :mod:`spotlab.fleet.search`: the recommended EAS setting for an availability target,
  chosen on a training window (:func:`recommend_fleet`);
- :mod:`spotlab.fleet.config`: that setting as EAS files, through the validated export;
- :mod:`spotlab.fleet.evaluate`: the policy table on measured traces;
- :mod:`spotlab.fleet.scaling`: a scaling plan (floor, autoscaler, cron jobs) from traffic.
"""

from spotlab.fleet.market import (
    UNLIMITED,
    Market,
    Pool,
    market_from_availability,
    poisson_market,
    with_pools,
    with_price_points,
)
from spotlab.fleet.policies import (
    AllRegular,
    EasOrdered,
    EasService,
    OneSpot,
    SpotHedge,
    dedicated_floor,
    recommended,
)
from spotlab.fleet.search import EasSetting, FleetChoice, SearchSpace, recommend_fleet
from spotlab.fleet.simulate import FleetResult, Policy, View, simulate

__all__ = [
    "UNLIMITED",
    "AllRegular",
    "EasOrdered",
    "EasService",
    "EasSetting",
    "FleetChoice",
    "FleetResult",
    "Market",
    "OneSpot",
    "Policy",
    "Pool",
    "SearchSpace",
    "SpotHedge",
    "View",
    "dedicated_floor",
    "market_from_availability",
    "poisson_market",
    "recommend_fleet",
    "recommended",
    "simulate",
    "with_pools",
    "with_price_points",
]
