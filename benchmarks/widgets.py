"""Widget latency: median time from a control change to the new output, on the bundled data.

Each widget is built once on an in-memory store loaded from ``data/``; then a control is
changed back and forth and the observer (the widget's own callback, called synchronously
by traitlets) recomputes through the library and redraws. An IPython shell is active so
``display(chart)`` really serialises the altair spec, as in JupyterLab. The baseline, in the
same process, is re-running the notebook cell: building the widget from scratch.

    .venv/bin/python benchmarks/widgets.py [--repeat 15]

Target: median <= 200 ms per change.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

TARGET_MS = 200.0


def _median_ms(action: Callable[[int], Any], repeat: int) -> float:
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    import spotlab as sl
    from spotlab.advise import coldstart as cs
    from spotlab.fleet import scaling
    from spotlab.overview import overview
    from spotlab.widgets.bids import BidExplorer
    from spotlab.widgets.coldstart import ColdstartCalculator
    from spotlab.widgets.config import ConfigForm
    from spotlab.widgets.fleet import PlanWidget
    from spotlab.widgets.ordering import OrderingBuilder
    from spotlab.widgets.overview import SpecPicker

    store = sl.Store(":memory:")
    sl.ingest(store, sl.notebook.BUNDLED_DATA)
    sl.notebook.enable_offline_charts()
    ov = overview(store)
    fits = cs.default_load_fits(store)
    traffic = scaling.traffic_series(store, "synthetic-chat")

    def toggle(control: Any, a: Any, b: Any) -> Callable[[int], None]:
        def act(i: int) -> None:
            control.value = a if i % 2 else b

        return act

    cases: list[tuple[str, Callable[[], Any], Callable[[Any], Callable[[int], None]]]] = [
        ("overview spec picker", lambda: SpecPicker(store, ov),
         lambda x: toggle(x.spec, x.spec.options[0], x.spec.options[1])),
        ("bid explorer: target", lambda: BidExplorer(store),
         lambda x: toggle(x.target, 0.95, 0.99)),
        ("bid explorer: spec", lambda: BidExplorer(store),
         lambda x: toggle(x.spec, x.spec.options[0], x.spec.options[1])),
        ("ordering builder: GPU memory", lambda: OrderingBuilder(store),
         lambda x: toggle(x.gpu_mem, 16.0, 24.0)),
        ("cold-start calculator: model size", lambda: ColdstartCalculator(fits),
         lambda x: toggle(x.model_size, 7.2, 14.0)),
        ("scaling plan: utilisation", lambda: PlanWidget(traffic, service="synthetic-chat"),
         lambda x: toggle(x.utilization, 0.7, 0.8)),
        ("config form: replicas", lambda: ConfigForm(store, image="registry.example.com/a/b:1"),
         lambda x: toggle(x.replicas, 2, 3)),
    ]  # fmt: skip
    print(f"{'widget':38} {'change ms':>10} {'rebuild ms':>11} {'ratio':>6}  target {TARGET_MS:g}")
    worst = 0.0
    for name, build, change in cases:
        widget = build()
        change_ms = _median_ms(change(widget), args.repeat)
        rebuild_ms = _median_ms(lambda _i, b=build: b(), max(3, args.repeat // 3))
        worst = max(worst, change_ms)
        print(f"{name:38} {change_ms:10.1f} {rebuild_ms:11.1f} {rebuild_ms / change_ms:6.1f}x")
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"slowest median change: {worst:.1f} ms ({verdict} the {TARGET_MS:g} ms target)")


if __name__ == "__main__":
    main()
