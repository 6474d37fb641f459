"""Typed models of the EAS deployment files (pydantic v2), loaded without losing a key.

Three files make a deployment (``docs/domain.md`` §2):

- the service JSON (``eascmd create service.json``): :class:`ServiceConfig`;
- the standalone autoscaler JSON: :class:`AutoscalerConfig`;
- the cron-scaling JSON (``eascmd cronscale``): :class:`CronScaleConfig`.

:class:`ConfigBundle` holds the three together. Keys the models do not know are kept (EAS
has many more) and written back unchanged, so ``dump(load(x)) == x`` as parsed JSON; the
linter reports them as info with a "did you mean" when close to a known key. Loading errors
(bad JSON, a wrong type, a missing required key) raise :class:`~spotlab.errors.ConfigError`
naming the JSON path, e.g. ``$.cloud.computing.instances[0].spot_price_limit``.

>>> cfg = load_service({"metadata": {"name": "demo", "instance": 1}, "labels": {"a": "b"}})
>>> cfg.metadata.instance, dump(cfg)["labels"]
(1, {'a': 'b'})
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from spotlab.eas import cachefs
from spotlab.errors import ConfigError

Kind = Literal["service", "autoscaler", "cronscale"]
FILE_NAMES: dict[Kind, str] = {
    "service": "service.json",
    "autoscaler": "autoscaler.json",
    "cronscale": "cronscale.json",
}
_PERCENT = re.compile(r"^\d+(\.\d+)?%$")
#: spotlab's sanity bound on a count of instances or replicas: a larger one is a typo
MAX_COUNT = 100_000
MAX_PORT = 65535

#: a finite JSON number (NaN and infinities are not JSON; a 400-digit one is not a price)
Number = Annotated[float, Field(allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
NonNegative = Annotated[int, Field(ge=0)]
#: a target or threshold: > 0, an integer stays one
Positive = Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1, pattern=r"\S")]


def _count_or_percent(v: int | str | None, what: str) -> int | str | None:
    if isinstance(v, str):
        if not _PERCENT.match(v):
            raise ValueError(f'{what} must be an integer or a percentage such as "20%"')
        if float(v[:-1]) > 100:
            raise ValueError(f"{what} {v} is above 100%")
    return v


@dataclass(frozen=True)
class DuplicateKey:
    """A key written more than once in one JSON object: ``path`` is the object's JSON path,
    ``values`` every value in file order (Python's reader keeps the last, others the first)."""

    path: str
    key: str
    values: tuple[Any, ...]


class EasModel(BaseModel):
    """Base of every EAS object: strict types, unknown keys kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow", strict=True)
    #: set on the top object of a file: the keys its JSON text repeats (lint reports them)
    _duplicates: list[DuplicateKey] = PrivateAttr(default_factory=list)

    @property
    def duplicate_keys(self) -> list[DuplicateKey]:
        return list(self._duplicates)

    @classmethod
    def known_keys(cls) -> list[str]:
        """The JSON keys this object knows (aliases where the JSON name differs)."""
        return [f.alias or name for name, f in cls.model_fields.items()]

    def children(self) -> Iterator[tuple[str, EasModel]]:
        """(JSON key or index path suffix, child object) for every nested EAS object set."""
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            key = field.alias or name
            if isinstance(value, EasModel):
                yield child_path("", key), value
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, EasModel):
                        yield f"{child_path('', key)}[{i}]", item


# -- the service JSON ----------------------------------------------------------------------


class Instance(EasModel):
    """One entry of ``cloud.computing.instances``; spot when it has ``spot_price_limit``."""

    type: Text
    spot_price_limit: Number | None = Field(
        None, description="Hourly bid; the entry is spot when present, regular otherwise."
    )
    capacity: Count | str | None = Field(
        None, description='Cap on instances from this entry: an integer or a percentage "20%".'
    )

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, v: int | str | None) -> int | str | None:
        return _count_or_percent(v, "capacity")

    @property
    def is_spot(self) -> bool:
        return self.spot_price_limit is not None

    @property
    def is_dedicated(self) -> bool:
        return self.type == "dedicated_resource"


class Computing(EasModel):
    instances: list[Instance] | None = Field(
        None, min_length=1, description="Ordered: tried first to last."
    )
    instance_type: Text | None = Field(None, description="Single-spec form (regular).")
    disable_spot_protection_period: bool | None = Field(
        None, description="true: no 1 h protection after creation, about 10% cheaper."
    )


class Networking(EasModel):
    vpc_id: str | None = None
    vswitch_id: str | None = None
    security_group_id: str | None = None


class Cloud(EasModel):
    computing: Computing | None = None
    networking: Networking | None = None


class EnvVar(EasModel):
    name: Text
    value: str | int | Number | bool | None = None


class Prepare(EasModel):
    pythonRequirements: list[str] | None = None


class Container(EasModel):
    image: Text | None = None
    port: Annotated[int, Field(ge=1, le=MAX_PORT)] | None = Field(
        None, description="1-65535; 8080 and 9090 are reserved by EAS."
    )
    script: str | None = None
    command: str | None = None
    env: list[EnvVar] | None = None
    prepare: Prepare | None = None


class OssMount(EasModel):
    path: str
    readOnly: bool | None = None
    endpoint: str | None = None


class NfsMount(EasModel):
    server: str
    path: str
    readOnly: bool | None = None


class EmptyDir(EasModel):
    medium: str | None = None
    size_limit: NonNegative | str | None = None


class MemoryCacheMount(EasModel):
    """The memory cache (cachefs); its exact JSON is unconfirmed, see :mod:`.cachefs`."""

    path: str = Field(  # type: ignore[literal-required]
        alias=cachefs.SOURCE_KEY, description="The OSS-mounted source directory."
    )
    capacity: str | None = Field(  # type: ignore[literal-required]
        None, alias=cachefs.CAPACITY_KEY, description='e.g. "20G".'
    )


class StorageEntry(EasModel):
    mount_path: str | None = None
    oss: OssMount | None = None
    nfs: NfsMount | None = None
    empty_dir: EmptyDir | None = None
    cache: MemoryCacheMount | None = Field(None, alias=cachefs.KEY)  # type: ignore[literal-required]


class RollingStrategy(EasModel):
    max_surge: Count | str | None = None
    max_unavailable: Count | str | None = None

    @field_validator("max_surge", "max_unavailable")
    @classmethod
    def _share(cls, v: int | str | None) -> int | str | None:
        return _count_or_percent(v, "a rolling strategy share")


class Metadata(EasModel):
    name: Text = Field(description="Service name, unique per region.")
    instance: Count = Field(description="Replica count.")
    workspace_id: str | None = None
    cpu: NonNegative | None = None
    memory: NonNegative | None = Field(None, description="MB, on dedicated resource groups.")
    gpu: NonNegative | None = None
    resource: str | None = Field(None, description="Dedicated resource group id (eas-r-...).")
    resource_burstable: bool | None = Field(
        None, description="Overflow from the dedicated group to public resources."
    )
    resource_rebalancing: bool | None = Field(
        None, description="Probe higher-priority resources and move instances back to them."
    )
    disk: str | None = None
    rpc: dict[str, Any] | None = None
    rpc_keepalive: NonNegative | None = Field(None, alias="rpc.keepalive", description="ms")
    rpc_max_queue_size: NonNegative | None = Field(None, alias="rpc.max_queue_size")
    rpc_worker_threads: NonNegative | None = Field(None, alias="rpc.worker_threads")
    rpc_rate_limit: NonNegative | None = Field(None, alias="rpc.rate_limit")
    rolling_strategy: RollingStrategy | None = None
    eas: dict[str, Any] | None = None
    termination_grace_period: NonNegative | None = Field(
        None, alias="eas.termination_grace_period", description="seconds, default 30"
    )
    scheduling: dict[str, Any] | None = None
    shm_size: NonNegative | None = Field(None, description="GB")
    enable_webservice: bool | None = None
    enable_grpc: bool | None = None
    type: str | None = None


class InlineAutoscaler(EasModel):
    """The service JSON's ``autoscaler``: ``{"min", "max", "strategies": {"qps": 10}}``."""

    min: Count
    max: Count
    strategies: dict[str, Positive] | None = Field(
        None, description="metric → target per instance, > 0"
    )


class ServiceConfig(EasModel):
    """An EAS service JSON (``eascmd create service.json``)."""

    metadata: Metadata
    cloud: Cloud | None = None
    containers: list[Container] | None = None
    storage: list[StorageEntry] | None = None
    networking: dict[str, Any] | None = None
    autoscaler: InlineAutoscaler | None = None
    options: dict[str, Any] | None = None
    runtime: dict[str, Any] | None = None
    features: dict[str, Any] | None = None
    labels: dict[str, Any] | None = None
    dockerAuth: str | None = Field(None, description="Secret: registry credentials.")
    token: str | None = Field(None, description="Secret: the service token.")

    @property
    def instances(self) -> list[Instance]:
        """The ordered instance entries (the single ``instance_type`` as one regular one)."""
        comp = self.cloud.computing if self.cloud else None
        if comp is None:
            return []
        if comp.instances:
            return list(comp.instances)
        if comp.instance_type:
            return [Instance.model_validate({"type": comp.instance_type})]
        return []


# -- the standalone autoscaler and cron-scaling files --------------------------------------


class ScaleStrategy(EasModel):
    metricName: Text = Field(description='"qps", "cpu", "gpu[util]", ...')
    threshold: Positive = Field(description="Target per instance, > 0.")


class ScaleBehaviorStep(EasModel):
    stabilizationWindowSeconds: NonNegative | None = None


class ScaleBehavior(EasModel):
    scaleUp: ScaleBehaviorStep | None = None
    scaleDown: ScaleBehaviorStep | None = None
    onZero: dict[str, Any] | None = None


class AutoscalerConfig(EasModel):
    """The standalone autoscaler JSON."""

    min: Count
    max: Count
    scaleStrategies: list[ScaleStrategy] | None = None
    behavior: ScaleBehavior | None = None


class ScaleJob(EasModel):
    Name: Text
    Schedule: str = Field(description="6-field cron: second minute hour day month weekday.")
    TargetSize: Count
    TimeZone: str | None = None


class CronScaleConfig(EasModel):
    """The cron-scaling JSON (``eascmd cronscale <region>/<service> -s cronscale.json``)."""

    ExcludeDates: list[str] | None = None
    ScaleJobs: list[ScaleJob]


MODELS: dict[Kind, type[EasModel]] = {
    "service": ServiceConfig,
    "autoscaler": AutoscalerConfig,
    "cronscale": CronScaleConfig,
}


@dataclass
class ConfigBundle:
    """A deployment: the service JSON plus the autoscaler and cron-scaling files, if any."""

    service: ServiceConfig
    autoscaler: AutoscalerConfig | None = None
    cronscale: CronScaleConfig | None = None

    def files(self) -> dict[str, dict[str, Any]]:
        """File name → JSON object, for the files present."""
        out = {FILE_NAMES["service"]: dump(self.service)}
        if self.autoscaler is not None:
            out[FILE_NAMES["autoscaler"]] = dump(self.autoscaler)
        if self.cronscale is not None:
            out[FILE_NAMES["cronscale"]] = dump(self.cronscale)
        return out


# -- loading and dumping -------------------------------------------------------------------

M = TypeVar("M", bound=EasModel)


def child_path(parent: str, key: str | int) -> str:
    """``$.a.b`` style JSON path of ``key`` under ``parent`` (brackets for odd keys)."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{parent}.{key}"
    return f"{parent}[{json.dumps(key)}]"


def _loc_path(data: Any, loc: Sequence[str | int], root: str = "$") -> str:
    """The JSON path of a pydantic error location, following the input's own structure
    (union tags and validator names in ``loc`` are not keys of the input: skipped)."""
    path, node = root, data
    for part in loc:
        if _has(node, part):
            path, node = child_path(path, part), node[part]
        elif isinstance(node, Mapping) and isinstance(part, str):
            return child_path(path, part)  # a missing key: name it
    return path


class _Repeated(dict[str, Any]):
    """A JSON object whose text repeats keys: the last value wins (as in ``json``), and
    ``repeated`` keeps every value of each repeated key."""

    repeated: dict[str, list[Any]]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    rep = _Repeated(out)
    seen: dict[str, list[Any]] = {}
    for k, v in pairs:
        seen.setdefault(k, []).append(v)
    rep.repeated = {k: vs for k, vs in seen.items() if len(vs) > 1}
    return rep


def parse_json(text: str | bytes, source: str = "<config>") -> Any:
    """Parse JSON text; ConfigError with the line and column when it is not JSON."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    try:
        return json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source} is not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "fix the syntax (a missing comma or quote, a trailing comma)",
            json_path="$",
        ) from exc
    except ValueError:  # a number of more than 4,300 digits (Python's int conversion limit)
        raise ConfigError(
            f"{source} holds a number of more than 4,300 digits, too long to read; no "
            "config value needs thousands of digits: fix it",
            json_path="$",
        ) from None


def duplicate_keys(data: Any, root: str = "$") -> list[DuplicateKey]:
    """The keys repeated inside the objects of JSON parsed by :func:`parse_json`."""
    out: list[DuplicateKey] = []
    stack: list[tuple[str, Any]] = [(root, data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _Repeated):
            out += [DuplicateKey(path, k, tuple(vs)) for k, vs in node.repeated.items()]
        if isinstance(node, Mapping):
            stack.extend((child_path(path, str(k)), v) for k, v in list(node.items())[::-1])
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in list(enumerate(node))[::-1])
    return out


def non_finite_path(data: Any, root: str = "$") -> str | None:
    """The JSON path of the first NaN or infinite number in ``data`` (parsed JSON), or None.

    Python's JSON reader accepts ``NaN``, ``Infinity`` and ``1e309`` (which overflows to
    infinity); none of them is a JSON number, so no config may hold one, known key or not.

    >>> non_finite_path({"a": [1, {"b": float("inf")}]})
    '$.a[1].b'
    """
    stack: list[tuple[str, Any]] = [(root, data)]
    while stack:  # iterative: a deeply nested document must not exhaust the stack
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path
        if isinstance(node, Mapping):
            stack.extend((child_path(path, str(k)), v) for k, v in list(node.items())[::-1])
        elif isinstance(node, list | tuple):
            stack.extend((f"{path}[{i}]", v) for i, v in list(enumerate(node))[::-1])
    return None


def _validate(model: type[M], data: Any, source: str) -> M:
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: expected a JSON object at the top, found {_json_type(data)}",
            json_path="$",
        )
    bad = non_finite_path(data)
    if bad is not None:
        raise ConfigError(
            f"a number in {source} is NaN or infinite, which JSON cannot hold: write a finite "
            "number (a bid, a count, a threshold)",
            json_path=bad,
        )
    try:
        out = model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        first, rest = errors[0], errors[1:]
        others = [f"{_loc_path(data, e['loc'])}: {_problem(data, e)}" for e in rest]
        more = f" (and {len(others)} more: {'; '.join(others[:3])})" if others else ""
        raise ConfigError(
            f"{_problem(data, first)} in {source}{more}", json_path=_loc_path(data, first["loc"])
        ) from None
    out._duplicates = duplicate_keys(data)
    return out


def _problem(data: Any, err: Mapping[str, Any]) -> str:
    if err["type"] == "missing":
        return f"required key {err['loc'][-1]!r} is missing"
    # never echo the input value: it may be a secret
    return f"{err['msg'].rstrip('.')} (found {_json_type(_at(data, err['loc']))})"


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, Mapping):
        return isinstance(part, str) and part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _at(data: Any, loc: Sequence[str | int]) -> Any:
    node = data
    for part in loc:
        if _has(node, part):
            node = node[part]
    return node


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _read(source: str | Path | Mapping[str, Any]) -> tuple[Any, str]:
    if not isinstance(source, str | Path):
        return source, "<config>"  # already parsed (checked to be an object later)
    path = Path(source)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_json(text, str(path)), str(path)


def load_service(source: str | Path | Mapping[str, Any], name: str | None = None) -> ServiceConfig:
    """Load a service JSON from a file path or a parsed dict (``name``: for errors)."""
    data, read_as = _read(source)
    return _validate(ServiceConfig, data, name or read_as)


def load_autoscaler(
    source: str | Path | Mapping[str, Any], name: str | None = None
) -> AutoscalerConfig:
    """Load a standalone autoscaler JSON from a path or a parsed dict (``name``: for errors)."""
    data, read_as = _read(source)
    return _validate(AutoscalerConfig, data, name or read_as)


def load_cronscale(
    source: str | Path | Mapping[str, Any], name: str | None = None
) -> CronScaleConfig:
    """Load a cron-scaling JSON from a file path or a parsed dict (``name``: for errors)."""
    data, read_as = _read(source)
    return _validate(CronScaleConfig, data, name or read_as)


def detect_kind(data: Mapping[str, Any]) -> Kind:
    """Which file a parsed JSON object is: cron scaling, standalone autoscaler or service."""
    if "ScaleJobs" in data or "ExcludeDates" in data:
        return "cronscale"
    if "metadata" not in data and ("scaleStrategies" in data or {"min", "max"} <= set(data)):
        return "autoscaler"
    return "service"


def load(
    source: str | Path | Mapping[str, Any],
) -> ServiceConfig | AutoscalerConfig | CronScaleConfig:
    """Load any of the three files, recognising which one it is by its keys."""
    data, name = _read(source)
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{name}: expected a JSON object at the top, found {_json_type(data)}", json_path="$"
        )
    kind = detect_kind(data)
    return _validate(MODELS[kind], data, name)  # type: ignore[return-value]


def load_bundle(source: str | Path) -> ConfigBundle:
    """A deployment folder (``service.json`` [+ ``autoscaler.json``, ``cronscale.json``])."""
    folder = Path(source)
    if not folder.is_dir():
        return ConfigBundle(service=load_service(folder))
    service_file = folder / FILE_NAMES["service"]
    if not service_file.exists():
        raise ConfigError(
            f"{folder} has no {FILE_NAMES['service']}: pass the service JSON file itself, "
            "or a folder written by `spotlab export`"
        )
    auto, cron = folder / FILE_NAMES["autoscaler"], folder / FILE_NAMES["cronscale"]
    return ConfigBundle(
        service=load_service(service_file),
        autoscaler=load_autoscaler(auto) if auto.exists() else None,
        cronscale=load_cronscale(cron) if cron.exists() else None,
    )


def dump(model: EasModel) -> dict[str, Any]:
    """The JSON object of a model: the keys it was given (unknown ones included)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def dumps(model: EasModel) -> str:
    """:func:`dump` as indented JSON text with a final newline."""
    return json.dumps(dump(model), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def json_schema(kind: Kind = "service") -> dict[str, Any]:
    """The JSON Schema of one of the three files (unknown keys allowed)."""
    return MODELS[kind].model_json_schema(by_alias=True)
