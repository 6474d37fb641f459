"""An ordering builder: requirements in; the ranked spot specs, the regular fallback, the
``cloud.computing.instances`` JSON and where EAS would place a service out.

>>> from spotlab.widgets.ordering import OrderingBuilder
>>> OrderingBuilder(store).widget  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w
import polars as pl

from spotlab.advise.allocation import allocate
from spotlab.advise.ordering import (
    DEFAULT_PROVIDER,
    Requirements,
    recommend_ordering,
    spot_figures,
)
from spotlab.charts.interruptions import allocation_chart, ordering_chart
from spotlab.errors import SpotlabError
from spotlab.notebook import show
from spotlab.store import Store


class OrderingBuilder:
    """Inputs → :func:`~spotlab.advise.ordering.recommend_ordering` and
    :func:`~spotlab.advise.allocation.allocate` → table, reasons, charts and JSON.

    Stock per spot spec is unknown to spotlab: ``spot stock`` (the same number for every
    spot entry) shows how EAS would place the service when that many are obtainable.
    ``ordering`` and ``allocation`` hold the last answers; ``widget`` is what to display.
    """

    def __init__(
        self,
        store: Store,
        gpu_memory_gib: float = 24.0,
        replicas: int = 10,
        dedicated: int = 2,
        spot_stock: int = 3,
    ) -> None:
        self.store = store
        self._catalog = store.query("SELECT * FROM specs")
        self._spot_cache: dict[tuple[str, float], pl.DataFrame] = {}
        style = {"description_width": "170px"}
        layout = w.Layout(width="420px")
        self.gpu_mem = w.BoundedFloatText(
            value=gpu_memory_gib, min=0, max=2048, step=1, description="GPU memory (GB)",
            style=style, layout=layout,
        )  # fmt: skip
        self.gpus = w.BoundedIntText(
            value=1, min=1, max=16, description="GPUs per replica", style=style, layout=layout
        )
        self.vcpu = w.BoundedFloatText(
            value=0, min=0, max=1024, description="min vCPU", style=style, layout=layout
        )
        self.memory = w.BoundedFloatText(
            value=0, min=0, max=8192, description="min memory (GiB)", style=style, layout=layout
        )
        self.replicas = w.BoundedIntText(
            value=replicas, min=1, max=10_000, description="replicas", style=style, layout=layout
        )
        self.max_share = w.FloatSlider(
            value=0.5, min=0.1, max=1.0, step=0.05, description="max share per spot spec",
            style=style, layout=layout,
        )  # fmt: skip
        self.target = w.FloatSlider(
            value=0.99, min=0.5, max=1.0, step=0.005, readout_format=".3f",
            description="target availability", style=style, layout=layout,
        )  # fmt: skip
        self.window = w.Dropdown(
            options=["48h", "7d", "30d", "all"], value="30d", description="price window",
            style=style, layout=layout,
        )  # fmt: skip
        self.dedicated = w.BoundedIntText(
            value=dedicated, min=0, max=10_000, description="dedicated free", style=style,
            layout=layout,
        )  # fmt: skip
        self.stock = w.BoundedIntText(
            value=spot_stock, min=0, max=10_000, description="spot stock per spec",
            style=style, layout=layout,
        )  # fmt: skip
        self.message = w.HTML()
        self.out = w.Output()
        self.ordering: Any = None
        self.allocation: Any = None
        controls = [
            self.gpu_mem, self.gpus, self.vcpu, self.memory, self.replicas, self.max_share,
            self.target, self.window, self.dedicated, self.stock,
        ]  # fmt: skip
        for c in controls:
            c.observe(self._changed, names="value")
        self.widget = w.VBox(
            [w.HBox([w.VBox(controls[:5]), w.VBox(controls[5:])]), self.message, self.out]
        )
        self.update()

    def _changed(self, _change: dict[str, Any]) -> None:
        self.update()

    def _spot(self, window: str, target: float) -> pl.DataFrame:
        """The bid advisor's per-spec figures, kept per (window, target): they do not depend
        on the requirements, so changing GPU memory or caps need not recompute them."""
        key = (window, target)
        if key not in self._spot_cache:
            cat = self._catalog
            providers = set(cat["provider"].drop_nulls())
            provider = DEFAULT_PROVIDER if DEFAULT_PROVIDER in providers else min(providers)
            names = cat.filter(pl.col("provider") == provider)["spec"].unique().to_list()
            self._spot_cache[key] = spot_figures(self.store, names, provider, window, target, None)
        return self._spot_cache[key]

    def update(self) -> None:
        """Recompute from the current inputs and redraw."""
        try:
            req = Requirements(
                gpu_memory_gib=float(self.gpu_mem.value),
                gpus=int(self.gpus.value),
                vcpu=float(self.vcpu.value),
                memory_gib=float(self.memory.value),
            )
            self.ordering = recommend_ordering(
                req,
                self.store,
                catalog=self._catalog,
                spot=self._spot(self.window.value, float(self.target.value)),
                window=self.window.value,
                target_availability=float(self.target.value),
                max_share=float(self.max_share.value),
                replicas=int(self.replicas.value),
            )
            stock = {e.spec: int(self.stock.value) for e in self.ordering.entries if e.spot}
            self.allocation = allocate(
                int(self.replicas.value), int(self.dedicated.value), self.ordering, stock=stock
            )
        except SpotlabError as exc:
            self.message.value = f"<b>Cannot order:</b> {exc}"
            self.out.clear_output()
            return
        self.message.value = "<br>".join(e.reason for e in self.ordering.entries)
        self.out.clear_output(wait=True)
        with self.out:
            show(ordering_chart(self.ordering))
            show(allocation_chart(self.allocation))
            print(json.dumps({"instances": self.ordering.to_instances()}, indent=2))
