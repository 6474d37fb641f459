"""Fleet simulation speed: 100 replicas x 30 days at 1-minute steps x 7 policies.

    .venv/bin/python benchmarks/fleet.py
    .venv/bin/python benchmarks/fleet.py --replicas 100 --days 30 --step 60

The market is SYNTHETIC and seeded (:func:`spotlab.fleet.poisson_market`): 3 GPU specs x 3
zones of spot pools, stock 90 % of the time in outages of 2 h on average, and a stress
reclaim rate of 1 % per replica-hour (about 7 reclaims per replica-month, far above real
bands, so the loop has work to do), plus a regular pool and a dedicated floor of 30.
It times the seven policies of the policy table with the event-driven loop, and as the
baseline the same simulations visiting every tick (``every_tick=True``), checking that both
give the same cost and availability. Target: the seven policies in <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

from spotlab.fleet import (
    AllRegular,
    EasOrdered,
    OneSpot,
    Pool,
    SpotHedge,
    dedicated_floor,
    poisson_market,
    recommended,
    simulate,
    with_pools,
)


def build(replicas: int, days: float, step: float, seed: int):  # type: ignore[no-untyped-def]
    specs = [("ecs.gn8v.4xlarge", 9.0), ("ecs.gn8is.2xlarge", 14.4), ("ml.gu7i.c8m30.1-gu30", 8.0)]
    zones = ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"]
    pools = [
        Pool(spec, zone, "spot", round(0.2 * price, 3), 180.0)
        for spec, price in specs
        for zone in zones
    ]
    pools.append(Pool("ml.gu7i.c8m30.1-gu30", "cn-hangzhou", "regular", 8.0, 180.0))
    ticks = int(days * 86400 / step)
    market = poisson_market(
        pools, ticks, step, reclaims_per_hour=0.01, stock_probability=0.9,
        mean_outage_hours=2.0, max_replicas=replicas, seed=seed,
    )  # fmt: skip
    floor = Pool("ml.gu7i.c8m30.1-gu30", "cn-hangzhou", "dedicated", 4.4, 180.0,
                 slots=int(0.3 * replicas))  # fmt: skip
    spot = [p.label for p in pools if p.kind == "spot"]
    reg = pools[-1].label
    policies = [
        (AllRegular(), market),
        (OneSpot(), market),
        (EasOrdered(), market),
        (EasOrdered(rebalancing=True), market),
        (dedicated_floor(), with_pools(market, [floor])),
        (SpotHedge(k=2), market),
        (recommended([*reversed(spot), reg]), market),
    ]
    return market, policies


def run(replicas: int, days: float, step: float, seed: int, baseline: bool) -> dict[str, object]:
    market, policies = build(replicas, days, step, seed)
    rows = []
    t_all = time.perf_counter()
    c_all = time.process_time()
    for policy, m in policies:
        t0 = time.perf_counter()
        r = simulate(m, policy, replicas, warning_seconds=300.0)
        rows.append(
            {
                "policy": policy.name,
                "seconds": round(time.perf_counter() - t0, 3),
                "events": int(r.ticks.size),
                "cost_ratio": round(r.cost_ratio, 4),
                "availability": round(r.availability, 4),
                "reclaims": int(r.reclaims.sum()),
            }
        )
    total = time.perf_counter() - t_all
    cpu = time.process_time() - c_all
    out: dict[str, object] = {
        "replicas": replicas, "days": days, "step_seconds": step, "ticks": market.ticks,
        "pools": len(market.pools), "policies": len(policies),
        "seconds_total": round(total, 3), "cpu_seconds_total": round(cpu, 3), "rows": rows,
    }  # fmt: skip
    if baseline:
        t0 = time.perf_counter()
        c0 = time.process_time()
        for (policy, m), row in zip(policies, rows, strict=True):
            r = simulate(m, policy, replicas, warning_seconds=300.0, every_tick=True)
            if (
                round(r.cost_ratio, 4) != row["cost_ratio"]
                or round(r.availability, 4) != row["availability"]
            ):
                raise SystemExit(f"every-tick result differs for {policy.name}")
        base = time.perf_counter() - t0
        base_cpu = time.process_time() - c0
        out["baseline_every_tick_seconds"] = round(base, 3)
        out["baseline_every_tick_cpu_seconds"] = round(base_cpu, 3)
        out["speedup_vs_every_tick_cpu"] = round(base_cpu / cpu, 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["machine"] = f"{platform.machine()} {platform.python_version()}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--step", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-baseline", action="store_true", help="skip the every-tick baseline")
    args = ap.parse_args()
    res = run(args.replicas, args.days, args.step, args.seed, not args.no_baseline)
    for row in res["rows"]:  # type: ignore[attr-defined]
        print(
            f"{row['policy']:<36} {row['seconds']:>7.3f} s  {row['events']:>6} events  "
            f"cost ratio {row['cost_ratio']:.3f}  availability {row['availability']:.4f}  "
            f"reclaims {row['reclaims']}"
        )
    print(json.dumps({k: v for k, v in res.items() if k != "rows"}, indent=2))
    ok = float(res["seconds_total"]) <= 10.0  # type: ignore[arg-type]
    print("target <= 10 s:", "met" if ok else "MISSED")


if __name__ == "__main__":
    main()
