"""The replacement start-up a fleet replay uses, and where it came from.

The fleet simulation takes the start-up the way ``spotlab bids`` and ``spotlab order`` do:
a number of seconds given (``--startup-seconds``), or the cold-start model's prediction for
a model and image size in one of the setups (``--model-size-gb``, ``--image-size-gb``,
``--setup`` plain / cachefs / acr / both). The default is the setup spotlab advises
deploying, **both** (cachefs + ACR acceleration), as on ``bids`` and ``order``, for a 14 GB
model (e.g. 7 B parameters in fp16) and the vendor's 1.34 GB image: about 114 s.

The prediction goes through :func:`spotlab.advise.coldstart.startup_seconds_for_store`
(what ``bids`` and ``order`` call) when a store is open, so a spec whose catalog memory
cannot hold the model cache runs without it there too; a spec the catalog does not list
(an AWS or GCP spec of a replayed trace) is predicted with the cache assumed to fit.

>>> fleet_startup(startup_seconds=200.0).describe()
'start-up 200 s (given)'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from spotlab.advise.coldstart import (
    SETUPS,
    VENDOR_IMAGE_GB,
    predicted_startup_seconds,
    startup_seconds_for_store,
)
from spotlab.errors import AnalysisError
from spotlab.store import Store

#: the model size assumed when none is given (GB): 7 B parameters in fp16
DEFAULT_MODEL_SIZE_GB = 14.0
#: the setup assumed when none is given: what spotlab advises, as on ``bids`` / ``order``
DEFAULT_SETUP = "both"
#: what each setup is, in words
SETUP_WORDS = {
    "plain": "no cachefs, no ACR acceleration",
    "cachefs": "cachefs model cache",
    "acr": "ACR image acceleration",
    "both": "cachefs + ACR acceleration",
}


@dataclass(frozen=True)
class FleetStartup:
    """Seconds a replacement replica takes to serve, and their origin.

    ``source``: ``"given"`` (a number of seconds) or ``"cold-start model"``;
    ``model_size_gb``, ``image_size_gb``, ``setup``: the prediction's inputs (None when
    given); ``defaulted``: the inputs the user did not give, so the default was used;
    ``cache_note``: how the cache fit was decided for ``spec`` (cache setups only).
    """

    seconds: float
    source: str
    model_size_gb: float | None = None
    image_size_gb: float | None = None
    setup: str | None = None
    spec: str | None = None
    defaulted: tuple[str, ...] = ()
    cache_note: str = ""

    def describe(self) -> str:
        """One line for every output, e.g. ``start-up 114 s (cold-start model: ...)``."""
        if self.source == "given":
            return f"start-up {self.seconds:.0f} s (given)"
        words = SETUP_WORDS.get(self.setup or "", self.setup or "")
        text = (
            f"start-up {self.seconds:.0f} s (cold-start model: a {self.model_size_gb:g} GB model, "
            f"{self.image_size_gb:g} GB image, setup {self.setup}: {words}"
        )
        if self.defaulted:
            text += (
                f"; default {', '.join(self.defaulted)} as on spotlab bids/order; change with "
                "--startup-seconds or --model-size-gb/--image-size-gb/--setup"
            )
        if self.cache_note:
            text += f"; {self.cache_note}"
        return text + ")"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "defaulted": list(self.defaulted), "text": self.describe()}


def fleet_startup(
    startup_seconds: float | None = None,
    model_size_gb: float | None = None,
    image_size_gb: float | None = None,
    setup: str | None = None,
    *,
    store: Store | None = None,
    spec: str | None = None,
) -> FleetStartup:
    """The start-up for a fleet replay: ``startup_seconds`` when given, else the cold-start
    model for ``model_size_gb`` (default 14), ``image_size_gb`` (default the vendor's 1.34)
    and ``setup`` (default ``"both"``); with ``store`` and ``spec``, the spec's catalog
    memory decides whether the cache fits (as for ``spotlab bids``/``order``)."""
    if startup_seconds is not None:
        if model_size_gb is not None or image_size_gb is not None or setup is not None:
            raise AnalysisError(
                "give the start-up as --startup-seconds or as --model-size-gb/--image-size-gb/"
                "--setup, not both"
            )
        v = float(startup_seconds)
        if not (math.isfinite(v) and v >= 0):
            raise AnalysisError(f"startup_seconds must be a number >= 0, got {startup_seconds!r}")
        return FleetStartup(v, "given")
    defaulted = []
    if model_size_gb is None:
        defaulted.append(f"model size {DEFAULT_MODEL_SIZE_GB:g} GB")
    if setup is None:
        defaulted.append(f"setup {DEFAULT_SETUP}")
    model = DEFAULT_MODEL_SIZE_GB if model_size_gb is None else float(model_size_gb)
    image = VENDOR_IMAGE_GB if image_size_gb is None else float(image_size_gb)
    chosen = DEFAULT_SETUP if setup is None else setup
    note = ""
    per_spec = startup_seconds_for_store(store, model, image, chosen) if store is not None else {}
    if spec is not None and spec in per_spec:
        seconds = per_spec[spec]
        plain_cache = predicted_startup_seconds(model, image, chosen)
        if chosen in ("cachefs", "both") and seconds != plain_cache:
            note = f"the model cache does not fit {spec}'s memory: run without it"
    else:
        got = predicted_startup_seconds(model, image, chosen)
        if not isinstance(got, float | int):  # a mapping only comes back per spec
            raise AnalysisError(f"the cold-start model gave {got!r}, not one number of seconds")
        seconds = float(got)
        if chosen in ("cachefs", "both") and spec is not None:
            note = f"{spec}'s memory is not in the catalog: the model cache assumed to fit"
    return FleetStartup(float(seconds), "cold-start model", model, image, chosen, spec,
                        tuple(defaulted), note)  # fmt: skip


__all__ = ["DEFAULT_MODEL_SIZE_GB", "DEFAULT_SETUP", "SETUPS", "FleetStartup", "fleet_startup"]
