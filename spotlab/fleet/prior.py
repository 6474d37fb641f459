"""The spare prior: spares a spot-using setting carries when its training window is too
short to show what a reclaim costs, learned from other traces.

A short training window (SpotHedge's GCP1: 8 hours) can show no reclaim at all: then every
setting is 100 % available there and the search buys no spare, whatever the margin, since
no margin can make the window show an outage. A spare covers a reclaim only when a
replacement's start-up runs beyond the reclaim warning (the *gap*: a start-up within the
warning is ready before the old replica goes, and a spare changes nothing).

**What is learned.** For each measured trace (and start-up), the evaluation
(:mod:`spotlab.fleet.evaluate`) asks the search for its choice with at least 0, 1, 2, …
spares and replays each on the trace's held-out part: the trace's *needed spares* is the
fewest whose choice met the target held out (None when none did: spares were not what it
lacked). A :class:`PriorPoint` keeps that with the trace's training window in zone-hours
(spot pools × hours: how much of the market the window has seen) and its gap.

**The fit** (:func:`fit_spare_prior`): over the points whose gap is > 0 and whose needed
spares are known, an isotonic regression (scikit-learn's ``IsotonicRegression``,
non-increasing: a longer window never needs more spares *a priori*) of the needed spares on
log zone-hours, read at the window's zone-hours and rounded to the nearest count. It is
applied only where the gap is > 0.

**Out of sample.** In the evaluation each trace's prior is fitted with every point of that
trace left out (both start-ups): leave one trace out; its held-out figures never choose its
own prior. ``spotlab simulate`` on a new trace uses :data:`SPARE_PRIOR_POINTS`, every point
of the committed evaluation (``benchmarks/results/fleet_traces.json``); on one of those
traces it is therefore not out of sample (the evaluation's figures are).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from spotlab.errors import AnalysisError


@dataclass(frozen=True)
class PriorPoint:
    """One trace's lesson: ``needed_spares`` (None: no spare count met the target held
    out) at ``zone_hours`` of training window and ``gap_seconds`` (start-up − warning),
    under the start-up labelled ``startup``."""

    trace: str
    startup: str
    zone_hours: float
    gap_seconds: float
    needed_spares: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SparePrior:
    """The prior for one training window: ``spares`` (0: none), the isotonic fit's value
    before rounding, the points it was fitted on, the trace left out, and why."""

    spares: int
    zone_hours: float
    gap_seconds: float
    fitted: float | None
    points: int
    left_out: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_spare_prior(
    zone_hours: float,
    gap_seconds: float,
    points: Sequence[PriorPoint],
    left_out: str | None = None,
    max_spare: int | None = None,
) -> SparePrior:
    """The spare prior for a training window of ``zone_hours`` with start-up − warning =
    ``gap_seconds``, from ``points`` except those of trace ``left_out`` (see the module
    docstring); at most ``max_spare``."""
    if not (math.isfinite(zone_hours) and zone_hours > 0):
        raise AnalysisError(f"zone_hours must be a number > 0, got {zone_hours!r}")
    if gap_seconds <= 0:
        return SparePrior(0, zone_hours, gap_seconds, None, 0, left_out,
                          "no spare prior: the start-up is within the reclaim warning, so a "
                          "replacement is ready before the old replica goes")  # fmt: skip
    use = [
        p for p in points
        if p.trace != left_out and p.gap_seconds > 0 and p.needed_spares is not None
    ]  # fmt: skip
    if not use:
        return SparePrior(0, zone_hours, gap_seconds, None, 0, left_out,
                          "no spare prior: no other trace to learn it from")  # fmt: skip
    x = np.log([p.zone_hours for p in use])
    y = np.array([p.needed_spares for p in use], dtype=float)
    fit = IsotonicRegression(increasing=False, out_of_bounds="clip").fit(x, y)
    value = float(fit.predict(np.array([math.log(zone_hours)]))[0])
    spares = math.floor(value + 0.5)
    if max_spare is not None:
        spares = min(spares, max_spare)
    others = "the other traces" if left_out else "the evaluated traces"
    reason = (
        f"spare prior {spares}: {others} with a gap beyond the warning ({len(use)} points) "
        f"needed {value:.2f} spares held out at {zone_hours:.0f} zone-hours of training "
        "window (isotonic fit, non-increasing in the window's zone-hours, rounded)"
    )
    return SparePrior(spares, zone_hours, gap_seconds, value, len(use), left_out, reason)


#: every point of the committed evaluation (``python -m spotlab.fleet.evaluate``), what
#: ``spotlab simulate`` fits its prior on; the test suite checks it against the results file
SPARE_PRIOR_POINTS: tuple[PriorPoint, ...] = (
    PriorPoint("SkyPilot preemption 1-node gcp-04-30-2023: c3-highcpu-88, 4 zones", "both",
               45.6, 83.879, 0),
    PriorPoint("SpotHedge GCP1: a2-ultragpu-4g, 6 zones", "both",
               48.1, 83.879, 0),
    PriorPoint("SkyPilot 1-node aws-10-26-2022: p3.2xlarge, 2 zones", "plain",
               324.567, 171.62, 0),
    PriorPoint("SkyPilot 1-node aws-02-15-2023: p3.2xlarge, 9 zones", "plain",
               2456.7, 171.62, 0),
    PriorPoint("SkyPilot 16-node aws-08-27-2023: p3.2xlarge, 3 zones", "plain",
               296.0, 171.62, 0),
    PriorPoint("SkyPilot preemption 1-node aws-04-19-2023: r5.16xlarge, 3 zones", "plain",
               113.95, 171.62, 0),
    PriorPoint("SkyPilot preemption 1-node aws-04-22-2023: p3.2xlarge, 4 zones", "plain",
               177.4, 171.62, 0),
    PriorPoint("SkyPilot preemption 1-node gcp-04-30-2023: c3-highcpu-88, 4 zones", "plain",
               45.6, 261.62, 0),
    PriorPoint("SkyPilot preemption 4-node aws-08-03-2023: p3.2xlarge, 3 zones", "plain",
               320.65, 171.62, 0),
    PriorPoint("SpotHedge AWS1: p3.2xlarge 4-node, 3 zones", "plain",
               197.25, 171.62, 0),
    PriorPoint("SpotHedge AWS2: p3.2xlarge 16-node, 3 zones", "plain",
               204.6, 171.62, 0),
    PriorPoint("SpotHedge AWS3: p3.2xlarge, 9 zones", "plain",
               3779.55, 171.62, 0),
    PriorPoint("SpotHedge GCP1: a2-ultragpu-4g, 6 zones", "plain",
               48.1, 261.62, 1),
    PriorPoint("Bamboo g4dn.xlarge us-east-1c (2020-11-20)", "plain",
               6.117, 171.62, 0),
    PriorPoint("Bamboo g4dn.xlarge us-east-1d (2020-11-23)", "plain",
               3.167, 171.62, 0),
    PriorPoint("Bamboo p2.xlarge us-east-1e (2020-11-23)", "plain",
               4.733, 171.62, 0),
    PriorPoint("Bamboo p2.xlarge us-east-1, 3 days (2020-11-20)", "plain",
               22.167, 171.62, 0),
)  # fmt: skip


__all__ = ["SPARE_PRIOR_POINTS", "PriorPoint", "SparePrior", "fit_spare_prior"]
