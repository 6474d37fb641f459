"""What one replica of a service needs: the one requirements model of spotlab.

The ordering advisor, the config linter, the exporter and the CLI all read
:class:`Requirements`. Each quantity has one unit, named in the field: GPU and host memory
in GiB (``gpu_memory_gib``, ``memory_gib``, as the specs catalog lists them), model and
image sizes in decimal GB (``model_size_gb``, ``image_size_gb``, as files are measured).
Unknown keys fail with a did-you-mean (a typo must never become a zero requirement), and
every number must be finite and in range.

>>> Requirements.from_any({"gpu_memory_gib": 24, "model_size_gb": 7.2}).gpu_memory_gib
24.0
>>> try:
...     Requirements.from_any({"gpu_memroy_gib": 24})
... except RequirementsError as exc:
...     print(str(exc).split("?")[0] + "?")
unknown requirement 'gpu_memroy_gib'. Did you mean 'gpu_memory_gib'?
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

import pydantic
from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from spotlab.errors import AnalysisError, ConfigError, did_you_mean


class RequirementsError(AnalysisError, ConfigError):
    """Requirements that cannot be understood: an unknown key, a value out of range.

    Both an :class:`AnalysisError` (the ordering cannot answer) and a :class:`ConfigError`
    (a config cannot be checked or built from them), so either ``except`` catches it.
    """


_NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]

#: spelled with the other unit: what the key is called here, and the unit it takes
_OTHER_UNIT: dict[str, tuple[str, str]] = {
    "gpu_memory_gb": ("gpu_memory_gib", "GiB"),
    "memory_gb": ("memory_gib", "GiB"),
    "model_size_gib": ("model_size_gb", "GB (10^9 bytes)"),
    "image_size_gib": ("image_size_gb", "GB (10^9 bytes)"),
}


@dataclass(frozen=True, config=ConfigDict(extra="forbid", strict=True))
class Requirements:
    """What one replica needs; every field may be left at its default.

    ``gpu_memory_gib``: GPU memory the replica needs in total (GiB), spread over ``gpus``
    GPUs (each GPU must hold ``gpu_memory_gib / gpus``); ``vcpu`` and ``memory_gib`` (host
    memory, GiB) minimums; ``throughput``: replicas' worth of work one instance of a spec
    does (e.g. ``{"ecs.gn8is-8x.32xlarge": 8}`` when eight replicas share its eight GPUs;
    specs not named do 1); ``provider``/``region`` narrow the catalog. ``model_size_gb`` and
    ``image_size_gb`` (decimal GB) size the memory cache and the cold-start savings;
    ``reclaims_per_month`` prices them.
    """

    gpu_memory_gib: _NonNegative = 0.0
    gpus: Annotated[int, Field(ge=0)] = 1
    vcpu: _NonNegative = 0.0
    memory_gib: _NonNegative = 0.0
    throughput: Mapping[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = None
    provider: str | None = None
    region: str | None = None
    model_size_gb: _NonNegative | None = None
    image_size_gb: _NonNegative | None = None
    reclaims_per_month: _NonNegative | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _readable_errors(cls, data: Any, handler: Any) -> Any:
        try:
            out = handler(data)
        except pydantic.ValidationError as exc:
            raise RequirementsError(_message(exc)) from None
        if out.gpu_memory_gib > 0 and out.gpus == 0:
            raise RequirementsError("gpu_memory_gib needs gpus >= 1")
        return out

    @classmethod
    def names(cls) -> list[str]:
        """The requirement keys, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_any(cls, obj: Requirements | Mapping[str, Any] | None) -> Requirements:
        """From a Requirements or a mapping of these keys (a None value = not given).

        Unknown keys raise :class:`RequirementsError` with a did-you-mean; so does None
        (the ordering needs at least ``gpu_memory_gib``: pass ``{}`` for "anything").
        """
        if isinstance(obj, Requirements):
            return obj
        if obj is None:
            raise RequirementsError(
                "no requirements: give at least gpu_memory_gib (GiB per replica)"
            )
        if not isinstance(obj, Mapping):
            raise RequirementsError(
                f"requirements must be a Requirements or a mapping of {', '.join(cls.names())}"
                f", not {type(obj).__name__}"
            )
        return cls(**{str(k): v for k, v in obj.items() if v is not None})

    @classmethod
    def optional(cls, obj: Requirements | Mapping[str, Any] | None) -> Requirements:
        """:meth:`from_any`, with None meaning no requirements (lint and export)."""
        return cls() if obj is None else cls.from_any(obj)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _message(exc: pydantic.ValidationError) -> str:
    known = Requirements.names()
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        name = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "unexpected_keyword_argument":
            if name in _OTHER_UNIT:
                right, unit = _OTHER_UNIT[name]
                hint = f" spotlab takes it in {unit} as {right!r}: convert the value and rename it."
            else:
                hint = did_you_mean(name, known, n=1)
            parts.append(
                f"unknown requirement {name!r}.{hint} Requirements are: {', '.join(known)}"
            )
        else:
            got = err.get("input")
            parts.append(f"requirement {loc}: {err['msg'].rstrip('.')}, got {got!r}")
    return "; ".join(parts)
