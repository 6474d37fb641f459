"""Fleet simulation: replay spot availability against deployment policies, and plan scaling.

>>> from spotlab.fleet import Pool, poisson_market, simulate, SpotHedge  # doctest: +SKIP

- :mod:`spotlab.fleet.market`: pools, capacity and prices over time (trace replay or a
  seeded Poisson model);
- :mod:`spotlab.fleet.simulate`: the discrete-time simulator and its results;
- :mod:`spotlab.fleet.policies`: all regular, one spot pool, EAS ordered (with and without
  resource rebalancing), dedicated floor, SpotHedge, spotlab's recommended ordering;
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
    OneSpot,
    SpotHedge,
    dedicated_floor,
    recommended,
)
from spotlab.fleet.simulate import FleetResult, Policy, View, simulate

__all__ = [
    "UNLIMITED",
    "AllRegular",
    "EasOrdered",
    "FleetResult",
    "Market",
    "OneSpot",
    "Policy",
    "Pool",
    "SpotHedge",
    "View",
    "dedicated_floor",
    "market_from_availability",
    "poisson_market",
    "recommended",
    "simulate",
    "with_pools",
    "with_price_points",
]
