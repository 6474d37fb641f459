"""Build EAS deployment files from spotlab's advice, and write them only when they lint clean.

:func:`build_config` assembles a :class:`~spotlab.eas.model.ConfigBundle` from whichever
advice exists (an ordering, bids, a scaling plan; plain lists and dicts work too);
:func:`config_from_store` gathers that advice from a store first; :func:`export` writes
``service.json`` (+ ``autoscaler.json``, ``cronscale.json``) after a lint without errors.

>>> bundle = build_config("demo", "registry.example/demo:1",  # doctest: +SKIP
...     instances=[{"type": "ecs.gn8is.2xlarge", "spot_price_limit": 2.88},
...                {"type": "ecs.gn8is.2xlarge"}])
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.advise.bids import BidAdvice
from spotlab.advise.coldstart import ColdstartSaving
from spotlab.advise.ordering import Ordering
from spotlab.domain import round_bid_up, rule20_bid
from spotlab.eas import advice, cachefs, facts
from spotlab.eas.facts import DEDICATED, SpecInfo
from spotlab.eas.lint import Finding, errors, lint
from spotlab.eas.model import (
    FILE_NAMES,
    ConfigBundle,
    ServiceConfig,
    dump,
    load_autoscaler,
    load_cronscale,
    load_service,
)
from spotlab.eas.secrets import strip_secrets
from spotlab.errors import ConfigError, did_you_mean
from spotlab.fleet.scaling import ScalingPlan
from spotlab.requirements import Requirements
from spotlab.store import Store

#: where the OSS model is mounted, and the cached view the service reads (with a cache)
MODEL_SOURCE_MOUNT = "/models-src"
MODEL_MOUNT = "/models"
#: a memory cache may take at most this share of the smallest spec's memory
CACHE_MEMORY_SHARE = 0.5
#: the cache holds the model plus this margin
CACHE_MARGIN = 1.1
#: model size assumed for the cache when unknown (GB, before the memory cap)
DEFAULT_CACHE_GB = 20.0
DEFAULT_PORT = 8000


def build_config(
    name: str,
    image: str,
    *,
    instances: Sequence[Mapping[str, Any]] | None = None,
    ordering: Ordering | Sequence[Mapping[str, Any]] | None = None,
    bids: Mapping[str, float] | BidAdvice | pl.DataFrame | None = None,
    scaling: ScalingPlan | Mapping[str, Any] | None = None,
    autoscaler: Mapping[str, Any] | None = None,
    cronscale: Mapping[str, Any] | None = None,
    replicas: int | None = None,
    port: int = DEFAULT_PORT,
    command: str | None = None,
    model_oss_path: str | None = None,
    model_size_gb: float | None = None,
    memory_cache: bool | None = None,
    coldstart: ColdstartSaving | Mapping[str, Any] | None = None,
    networking: Mapping[str, str] | None = None,
    accelerated: bool = False,
    workspace_id: str | None = None,
    resource: str | None = None,
    extra: Mapping[str, Any] | None = None,
    store: Store | None = None,
    requirements: Requirements | Mapping[str, Any] | None = None,
    catalog: Mapping[str, SpecInfo] | pl.DataFrame | None = None,
    check: bool = True,
) -> ConfigBundle:
    """Assemble a deployment from advice; ConfigError when the result has lint errors.

    Instances come from ``ordering`` (an :class:`~spotlab.advise.ordering.Ordering` or a
    list of dicts) or ``instances``: an ordered
    list of ``{"type", "spot_price_limit"?, "capacity"?}``; an entry with a
    ``spot_price_limit`` key is spot, and a None limit is filled from ``bids`` ({spec: bid},
    a recommend_bids result or frame), else the seed's 20% of the on-demand price. Bids are capped
    at the on-demand price; regular entries are moved after spot ones, and when there is no
    regular entry the spec with the lowest on-demand price is appended as one.

    ``scaling`` (a :class:`~spotlab.fleet.scaling.ScalingPlan`, or a dict with
    ``autoscaler``/``cronscale``) or ``autoscaler``/``cronscale`` dicts give the scaling
    files. ``model_oss_path`` mounts the model from OSS; on spot a memory cache is added
    (``memory_cache=False`` to skip; ``coldstart``, a cold-start saving result, decides
    when its best setup excludes the cache or the cache does not fit). ``accelerated``
    deploys the ``_accelerated`` tag and needs ``networking`` (vpc_id, vswitch_id,
    security_group_id).
    """
    need = Requirements.optional(requirements)
    entries = advice.ordering_instances(ordering) if ordering is not None else []
    if not entries:
        entries = [dict(e) for e in instances or []]
    if not entries:
        raise ConfigError(
            "no instance specs: pass an ordering or instances=[{'type': ...}, ...]",
            json_path="$.cloud.computing.instances",
        )
    specs = [str(e.get("type")) for e in entries]
    bid_map = advice.bids_map(bids) if bids is not None else None
    known = facts.gather(store, specs, need.region, catalog, bid_map)
    entries = _ordered(_with_bids(entries, known), known)

    plan_auto, plan_cron = advice.scaling_files(scaling)
    auto = dict(plan_auto or autoscaler or {}) or None
    cron = dict(plan_cron or cronscale or {}) or None
    # the scaling files first: the service's replica count is derived from them
    auto_model = load_autoscaler(auto, FILE_NAMES["autoscaler"]) if auto else None
    cron_model = load_cronscale(cron, FILE_NAMES["cronscale"]) if cron else None
    instance = replicas if replicas is not None else (auto or {}).get("min", 1) or 1
    if auto:
        instance = min(max(instance, auto["min"]), auto["max"])

    has_spot = any("spot_price_limit" in e for e in entries)
    has_regular = any("spot_price_limit" not in e and e["type"] != DEDICATED for e in entries)
    metadata: dict[str, Any] = {"name": name, "instance": int(instance)}
    if workspace_id:
        metadata["workspace_id"] = workspace_id
    if any(e["type"] == DEDICATED for e in entries) and not resource:
        raise ConfigError(
            "a dedicated_resource entry needs the dedicated group's id: pass resource='eas-r-...'",
            json_path="$.metadata.resource",
        )
    if resource:
        metadata["resource"] = resource
        if any(e["type"] != DEDICATED for e in entries):
            metadata["resource_burstable"] = True
    if has_spot and has_regular:
        metadata["resource_rebalancing"] = True
    computing: dict[str, Any] = {"instances": entries}
    cloud: dict[str, Any] = {"computing": computing}
    if networking:
        cloud["networking"] = dict(networking)
    container: dict[str, Any] = {"image": _accelerated(image) if accelerated else image}
    container["port"] = port
    if command:
        container["script"] = command
    service: dict[str, Any] = {"metadata": metadata, "cloud": cloud, "containers": [container]}
    use_cache, cold_gb = advice.coldstart_cache_choice(coldstart)
    if memory_cache is None:
        memory_cache = has_spot if use_cache is None else use_cache and has_spot
    size_gb = model_size_gb or need.model_size_gb or cold_gb
    storage = _storage(model_oss_path, size_gb, entries, known, memory_cache)
    if storage:
        service["storage"] = storage
    for key, value in (extra or {}).items():
        service.setdefault(key, value)

    bundle = ConfigBundle(
        service=load_service(service, FILE_NAMES["service"]),
        autoscaler=auto_model,
        cronscale=cron_model,
    )
    if check:
        found = errors(lint(bundle, store, need, bids=known.bids, catalog=known.specs or None))
        if found:
            raise ConfigError(_listing("the built config has lint errors", found), findings=found)
    return bundle


def _with_bids(entries: list[dict[str, Any]], known: facts.Facts) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        e = {k: v for k, v in e.items() if v is not None or k == "spot_price_limit"}
        if "spot_price_limit" in e:
            info = known.specs.get(e["type"])
            od = info.on_demand_price if info else None
            bid = known.bids.get(e["type"]) if e["spot_price_limit"] is None else None
            bid = bid if bid is not None else e["spot_price_limit"]
            if bid is None and od is not None:
                bid = rule20_bid(od)
            if bid is None and known.specs and e["type"] not in known.specs:
                raise ConfigError(
                    f"unknown spec {e['type']!r}: not in the specs catalog."
                    f"{did_you_mean(str(e['type']), known.specs)}",
                    json_path="$.cloud.computing.instances",
                )
            if bid is None:
                raise ConfigError(
                    f"no bid for spot spec {e['type']!r}: no advice and no on-demand price; "
                    "pass bids={spec: price}",
                    json_path="$.cloud.computing.instances",
                )
            # up to the tick (never below the advised level), but never above on-demand
            bid = round_bid_up(float(bid))
            e["spot_price_limit"] = min(bid, od) if od is not None else bid
        out.append(e)
    return out


def _ordered(entries: list[dict[str, Any]], known: facts.Facts) -> list[dict[str, Any]]:
    """Dedicated group first, then spot entries in their order, then regular entries."""
    dedicated = [e for e in entries if e["type"] == DEDICATED]
    spot = [e for e in entries if "spot_price_limit" in e and e["type"] != DEDICATED]
    regular = [e for e in entries if "spot_price_limit" not in e and e["type"] != DEDICATED]
    if spot and not regular:
        priced = [
            (info.on_demand_price, s["type"])
            for s in spot
            if (info := known.specs.get(s["type"])) and info.on_demand_price is not None
        ]
        regular = [{"type": min(priced)[1] if priced else spot[-1]["type"]}]
    return dedicated + spot + regular


def _accelerated(image: str) -> str:
    repo, _, tag = image.rpartition(":")
    if not repo or "/" in tag:
        return f"{image}:latest_accelerated"
    return image if tag.endswith("_accelerated") else f"{repo}:{tag}_accelerated"


def _storage(
    oss_path: str | None,
    model_gb: float | None,
    entries: list[dict[str, Any]],
    known: facts.Facts,
    cache: bool,
) -> list[dict[str, Any]]:
    if not oss_path:
        return []
    if not cache:
        return [{"mount_path": MODEL_MOUNT, "oss": {"path": oss_path, "readOnly": True}}]
    mems = [
        info.memory_gib
        for e in entries
        if (info := known.specs.get(e["type"])) is not None and info.memory_gib
    ]
    # sizes in decimal GB, as the "<n>G" capacity is written: the model plus a margin,
    # at most a share of the smallest spec's memory
    want = math.ceil((model_gb or DEFAULT_CACHE_GB) * CACHE_MARGIN)
    if mems:
        want = min(want, math.floor(min(mems) * CACHE_MEMORY_SHARE * 2**30 / 1e9))
    return [
        {"mount_path": MODEL_SOURCE_MOUNT, "oss": {"path": oss_path, "readOnly": True}},
        cachefs.memory_cache_entry(MODEL_SOURCE_MOUNT, MODEL_MOUNT, max(1, want)),
    ]


def config_from_store(
    store: Store,
    name: str,
    image: str,
    specs: Sequence[str] | None = None,
    requirements: Requirements | Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> ConfigBundle:
    """:func:`build_config` with the advice a store yields: the ordering advisor's order
    (else ``specs`` in the given order, spot first, or the catalog's specs that fit the
    GPU memory need, cheapest market price first) and the bid advisor's bids."""
    need = Requirements.optional(requirements)
    ordering = None if specs else advice.advised_ordering(store, requirements)
    instances: list[dict[str, Any]] = []
    if ordering is None:
        names = list(specs or []) or _fitting_specs(store, need.gpu_memory_gib, need.region)
        if not names:
            has_catalog = store.query("SELECT count(*) AS n FROM specs")["n"][0] > 0
            raise ConfigError(
                (
                    f"no specs to deploy on: no catalog spec with {need.gpu_memory_gib:g} GiB "
                    "of GPU memory or more and a stored market price"
                    + (f" in region {need.region!r}" if need.region else "")
                    + "; pass specs, or ingest prices"
                )
                if has_catalog
                else "no specs to deploy on: the store has no specs catalog; ingest data/ or "
                "pass specs",
                json_path="$.cloud.computing.instances",
            )
        instances = [{"type": s, "spot_price_limit": None} for s in names]
    return build_config(
        name, image, ordering=ordering, instances=instances, store=store,
        requirements=requirements, **kwargs,
    )  # fmt: skip


def _fitting_specs(
    store: Store, gpu_gib: float | None, region: str | None, n: int = 3
) -> list[str]:
    """Fallback when no ordering advice exists: up to ``n`` catalog specs with enough GPU
    memory and a stored market price, cheapest latest price first."""
    cat = facts.store_specs(store, region)
    fit = [
        s for s, i in cat.items()
        if i.gpu_count and (gpu_gib is None or (i.total_gpu_memory_gib or 0) >= gpu_gib)
    ]  # fmt: skip
    market = facts.market_prices(store, fit, region)
    ranked = sorted(market.values(), key=lambda m: (m.price, m.spec))
    return [m.spec for m in ranked[:n]]


def autoscaler_file(
    min_replicas: int | None, max_replicas: int | None, qps: float | None = None
) -> dict[str, Any] | None:
    """A standalone autoscaler JSON from bounds and a QPS target; None without bounds.

    Scale-down waits 300 s and scale-up 0 s (the documented defaults). A QPS target
    without bounds is an error (it would be silently dropped): pass the bounds too.

    >>> autoscaler_file(2, 5, 10)["scaleStrategies"]
    [{'metricName': 'qps', 'threshold': 10}]
    """
    if min_replicas is None and max_replicas is None:
        if qps is not None:
            raise ConfigError(
                "a QPS threshold sets the autoscaler, which needs its bounds: pass min and "
                "max (--min/--max) with qps (--qps)",
                json_path="$.scaleStrategies[0].threshold",
            )
        return None
    lo = min_replicas if min_replicas is not None else 1
    hi = max_replicas if max_replicas is not None else max(lo, 1)
    out: dict[str, Any] = {"min": lo, "max": hi}
    if qps is not None:
        out["scaleStrategies"] = [{"metricName": "qps", "threshold": _num(qps)}]
    out["behavior"] = {
        "scaleUp": {"stabilizationWindowSeconds": 0},
        "scaleDown": {"stabilizationWindowSeconds": 300},
    }
    return out


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


@dataclass
class ExportResult:
    """Files written, secret keys left out, and the lint findings (no errors by then)."""

    paths: list[Path]
    omitted_secrets: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "paths": [str(p) for p in self.paths],
            "omitted_secrets": self.omitted_secrets,
            "findings": [f.as_dict() for f in self.findings],
        }


def export(
    config: ConfigBundle | ServiceConfig,
    out_dir: str | os.PathLike[str],
    overwrite: bool = False,
    *,
    include_secrets: bool = False,
    store: Store | None = None,
    requirements: Requirements | Mapping[str, Any] | None = None,
    catalog: Mapping[str, SpecInfo] | pl.DataFrame | None = None,
) -> ExportResult:
    """Write the deployment files into ``out_dir`` when lint reports no errors.

    Raises ConfigError listing the errors otherwise, or naming the files that exist when
    ``overwrite`` is False. Secrets (``dockerAuth``, ``token``, secret environment
    variables, credentials in an image reference, ...: :mod:`spotlab.eas.secrets`) are left
    out unless ``include_secrets`` (the files are then readable by their owner only).
    Files are written as described in :func:`write_files`.
    """
    bundle = config if isinstance(config, ConfigBundle) else ConfigBundle(service=config)
    found = lint(bundle, store, requirements, catalog=catalog)
    bad = errors(found)
    if bad:
        raise ConfigError(_listing("not exported: lint found errors", bad), findings=bad)
    files = bundle.files()
    omitted: list[str] = []
    if not include_secrets:
        for name, data in files.items():
            files[name], removed = strip_secrets(data)
            omitted += [f"{name} {path}" for path in removed]
    paths = write_files(out_dir, files, overwrite, private=include_secrets)
    return ExportResult(paths=paths, omitted_secrets=omitted, findings=found)


def write_files(
    out_dir: str | os.PathLike[str],
    files: Mapping[str, Any],
    overwrite: bool = False,
    private: bool = False,
) -> list[Path]:
    """Write each ``{file name: JSON object}`` into ``out_dir`` as strict JSON, safely.

    Each file is first written to a new temporary file in ``out_dir`` (created exclusively
    with a random name, so a planted ``service.json.tmp`` or link is never written
    through), then renamed over its target; on any failure the temporary files are removed
    and the message says which targets were already replaced. A target that is a symbolic
    link is refused even with ``overwrite``; an existing target needs ``overwrite``.
    ``private`` files (holding secrets) are readable by their owner only (0600, else 0644).
    """
    out = Path(out_dir)
    targets = {name: out / name for name in files}

    def check(path: Path) -> None:
        if path.is_symlink():
            raise ConfigError(
                f"not exported: {path} is a symbolic link; spotlab does not write through "
                "links: remove it or choose another folder"
            )
        if path.exists() and not (overwrite and path.is_file()):
            raise ConfigError(
                f"not exported: {path} already exists; pass overwrite=True (--overwrite) or "
                "choose another folder"
                if path.is_file()
                else f"not exported: {path} exists and is not a file"
            )

    for path in targets.values():
        check(path)
    texts = {}
    for name, data in files.items():
        try:
            texts[name] = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        except ValueError as exc:  # a NaN or infinity: not JSON
            raise ConfigError(f"not exported: {name} would not be JSON ({exc})") from exc
    temps: dict[str, str] = {}
    replaced: list[Path] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            fd, temps[name] = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temps[name], 0o600 if private else 0o644)
        for name, tmp in temps.items():
            check(targets[name])  # again: nothing may have been planted meanwhile
            os.replace(tmp, targets[name])
            replaced.append(targets[name])
    except (OSError, ConfigError) as exc:
        for tmp in temps.values():
            Path(tmp).unlink(missing_ok=True)
        done = f"; already replaced: {', '.join(map(str, replaced))}" if replaced else ""
        if isinstance(exc, ConfigError):
            raise ConfigError(f"{exc}{done}") from exc
        raise ConfigError(
            f"cannot write into {out}: {exc.strerror or exc} (the disk or the folder, not "
            f"the config){done or '; nothing was written'}"
        ) from exc
    return list(targets.values())


def _listing(head: str, found: list[Finding]) -> str:
    lines = [f"{head} ({len(found)}):"]
    lines += [f"  {f.file} {f.path}: {f.message} [{f.rule}]; fix: {f.fix}" for f in found]
    return "\n".join(lines)


def service_dict(config: ConfigBundle | ServiceConfig) -> dict[str, Any]:
    """The service JSON object of a bundle or service model."""
    svc = config.service if isinstance(config, ConfigBundle) else config
    return dump(svc)
