"""The EAS config linter: the seed's spot best practices as rules with stable ids.

Every finding carries a rule id (stable: tests, docs and users filter on it), a severity
(``error``: EAS would reject the config or the service would fail; ``warning``: it deploys
but against the best practice; ``info``: a saving left on the table), the file and JSON path
it is about, a message with the figures, and a fix. :data:`RULES` lists every rule.

>>> from spotlab.eas.model import load_service
>>> cfg = load_service({"metadata": {"name": "x", "instance": 1},
...     "cloud": {"computing": {"instances": [{"type": "ecs.gn8is.2xlarge",
...                                            "spot_price_limit": 2.88}]}}})
>>> [f.rule for f in lint(cfg) if f.severity == "error"]
['spot-without-regular']
"""

from __future__ import annotations

import difflib
import json
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl

from spotlab.domain import rule20_bid
from spotlab.eas import advice, cachefs, facts
from spotlab.eas.facts import EAS_PROVIDER, EAS_TYPE, Facts, SpecInfo
from spotlab.eas.model import (
    FILE_NAMES,
    AutoscalerConfig,
    ConfigBundle,
    CronScaleConfig,
    EasModel,
    ServiceConfig,
    child_path,
    dump,
    load,
    load_bundle,
)
from spotlab.eas.secrets import find_secrets
from spotlab.errors import ConfigError, did_you_mean
from spotlab.requirements import Requirements
from spotlab.store import Store

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

RESERVED_PORTS = (8080, 9090)
#: a bid further than this (relative) from the bid advisor's recommendation is reported
BID_ADVICE_TOLERANCE = 0.25
#: an image at least this large (GB) is worth accelerating on spot
LARGE_IMAGE_GB = 1.0
_ACR_EE_VPC = re.compile(r"^[a-z0-9][a-z0-9-]*-registry-vpc\.[a-z0-9-]+\.cr\.aliyuncs\.com/")


@dataclass(frozen=True)
class Finding:
    """One lint result. ``path`` is a JSON path in ``file`` (``$.containers[0].port``)."""

    rule: str
    severity: Severity
    path: str
    message: str
    fix: str
    file: str = FILE_NAMES["service"]

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.severity}: {self.file} {self.path}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Callable[[Context], Iterator[Finding]]


@dataclass
class Context:
    service: ServiceConfig | None
    autoscaler: AutoscalerConfig | None
    cronscale: CronScaleConfig | None
    facts: Facts
    needs: Requirements

    @property
    def instances_path(self) -> str:
        return "$.cloud.computing.instances"

    def instance_entries(self) -> list[tuple[str, Any]]:
        """(JSON path, entry) of each instance entry, the single-spec form included."""
        if self.service is None or self.service.cloud is None:
            return []
        comp = self.service.cloud.computing
        if comp is None:
            return []
        if comp.instances:
            return [(f"{self.instances_path}[{i}]", e) for i, e in enumerate(comp.instances)]
        if comp.instance_type:
            return [("$.cloud.computing.instance_type", self.service.instances[0])]
        return []

    @property
    def has_spot(self) -> bool:
        return any(e.is_spot for _, e in self.instance_entries())

    def spec(self, name: str) -> SpecInfo | None:
        return self.facts.specs.get(name)


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str, severity: Severity, summary: str
) -> Callable[[Callable[[Context], Iterator[Finding]]], Callable[[Context], Iterator[Finding]]]:
    def register(fn: Callable[[Context], Iterator[Finding]]) -> Callable[..., Iterator[Finding]]:
        RULES[rule_id] = Rule(rule_id, severity, summary, fn)
        return fn

    return register


def _f(
    rule_id: str, path: str, message: str, fix: str, file: str = FILE_NAMES["service"]
) -> Finding:
    return Finding(rule_id, RULES[rule_id].severity, path, message, fix, file)


def _money(x: float, currency: str | None) -> str:
    return f"{x:.4g} {currency or ''}".rstrip()


# -- keys --------------------------------------------------------------------------------


@rule("unknown-key", "info", "a key the model does not know (kept as is)")
def _unknown_keys(ctx: Context) -> Iterator[Finding]:
    for file, model in (
        (FILE_NAMES["service"], ctx.service),
        (FILE_NAMES["autoscaler"], ctx.autoscaler),
        (FILE_NAMES["cronscale"], ctx.cronscale),
    ):
        if model is not None:
            yield from _walk_unknown(model, "$", file)


def _walk_unknown(model: EasModel, path: str, file: str) -> Iterator[Finding]:
    known = type(model).known_keys()
    for key in model.model_extra or {}:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        close = close or difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
        yield _f(
            "unknown-key",
            child_path(path, key),
            f"{key!r} is not a key spotlab knows here; it is kept as is."
            + (f" Did you mean {close[0]!r}?" if close else ""),
            f"rename it to {close[0]!r}"
            if close
            else "check it against the EAS JSON reference (EAS has keys spotlab does not model)",
            file,
        )
    for suffix, child in model.children():
        yield from _walk_unknown(child, path + suffix, file)


# -- instance ordering -------------------------------------------------------------------


def _regular_entries(ctx: Context) -> list[tuple[str, Any]]:
    return [(p, e) for p, e in ctx.instance_entries() if not e.is_spot and not e.is_dedicated]


@rule("spot-without-regular", "error", "spot entries but no regular (non-spot) entry")
def _spot_without_regular(ctx: Context) -> Iterator[Finding]:
    entries = ctx.instance_entries()
    if ctx.has_spot and not _regular_entries(ctx):
        spot = [e.type for _, e in entries if e.is_spot]
        yield _f(
            "spot-without-regular",
            ctx.instances_path,
            f"all {len(spot)} instance entries are spot: when spot stock runs out the "
            "deployment or a replacement after a reclaim fails",
            f'append a regular entry without spot_price_limit, e.g. {{"type": "{spot[-1]}"}}, '
            "as the last entry",
        )


@rule("regular-not-last", "warning", "a regular entry before a spot entry")
def _regular_not_last(ctx: Context) -> Iterator[Finding]:
    entries = ctx.instance_entries()
    for i, (path, e) in enumerate(entries):
        if e.is_spot or e.is_dedicated:
            continue
        later = [x.type for _, x in entries[i + 1 :] if x.is_spot]
        if later:
            yield _f(
                "regular-not-last",
                path,
                f"regular entry {e.type!r} comes before spot entries ({', '.join(later)}): "
                "EAS tries entries in order, so it fills regular capacity before cheaper spot",
                "move the regular entries to the end of the list",
            )


@rule("single-spot-spec", "warning", "only one spot spec: diversify")
def _single_spot_spec(ctx: Context) -> Iterator[Finding]:
    spot = {e.type for _, e in ctx.instance_entries() if e.is_spot}
    if len(spot) == 1:
        yield _f(
            "single-spot-spec",
            ctx.instances_path,
            f"one spot spec only ({next(iter(spot))}): when its stock runs out every "
            "replacement falls back to regular prices",
            "list two or more spot specs that fit the model (different families reclaim "
            "independently), before the regular entry",
        )


@rule("resource-rebalancing-off", "info", "spot with fallback but no move back to spot")
def _rebalancing(ctx: Context) -> Iterator[Finding]:
    if ctx.service is None or not ctx.has_spot or not _regular_entries(ctx):
        return
    if ctx.service.metadata.resource_rebalancing is not True:
        yield _f(
            "resource-rebalancing-off",
            "$.metadata.resource_rebalancing",
            "instances that fell back to the regular entry stay there (at regular prices) "
            "after spot stock recovers",
            "set metadata.resource_rebalancing to true so EAS moves them back to spot",
        )


# -- bids --------------------------------------------------------------------------------


@rule("bid-not-positive", "error", "spot_price_limit is zero or negative")
def _bid_not_positive(ctx: Context) -> Iterator[Finding]:
    for path, e in ctx.instance_entries():
        if e.is_spot and e.spot_price_limit <= 0:
            yield _f(
                "bid-not-positive",
                f"{path}.spot_price_limit",
                f"spot_price_limit {e.spot_price_limit} for {e.type} is not a price",
                "set a positive hourly bid (the seed's rule: 20% of the on-demand price)",
            )


@rule("bid-above-on-demand", "error", "spot_price_limit above the spec's on-demand price")
def _bid_above_on_demand(ctx: Context) -> Iterator[Finding]:
    for path, e in ctx.instance_entries():
        info = ctx.spec(e.type)
        if not e.is_spot or info is None or info.on_demand_price is None:
            continue
        if e.spot_price_limit > info.on_demand_price:
            est = " (catalog price is an estimate)" if info.price_is_estimate else ""
            yield _f(
                "bid-above-on-demand",
                f"{path}.spot_price_limit",
                f"bid {_money(e.spot_price_limit, info.currency)}/h for {e.type} is above its "
                f"on-demand price {_money(info.on_demand_price, info.currency)}/h{est}: "
                "a regular instance would be cheaper",
                f"bid at most {_money(info.on_demand_price, info.currency)}/h; the seed "
                f"recommends 20% of on-demand, "
                f"{_money(rule20_bid(info.on_demand_price), info.currency)}/h",
            )


@rule("bid-below-market", "warning", "spot_price_limit below the current market price")
def _bid_below_market(ctx: Context) -> Iterator[Finding]:
    for path, e in ctx.instance_entries():
        mkt = ctx.facts.market.get(e.type)
        if not e.is_spot or mkt is None:
            continue
        if e.spot_price_limit < mkt.price:
            yield _f(
                "bid-below-market",
                f"{path}.spot_price_limit",
                f"bid {_money(e.spot_price_limit, mkt.currency)}/h for {e.type} is below the "
                f"latest market price {_money(mkt.price, mkt.currency)}/h (zone {mkt.zone}, "
                f"{mkt.ts:%Y-%m-%d %H:%M} UTC): it will not be allocated now",
                f"bid at least {_money(mkt.price, mkt.currency)}/h, or accept that this entry "
                "is skipped until the price falls",
            )


@rule("bid-off-advice", "info", "spot_price_limit far from the bid advisor's recommendation")
def _bid_off_advice(ctx: Context) -> Iterator[Finding]:
    for path, e in ctx.instance_entries():
        rec = ctx.facts.bids.get(e.type)
        if not e.is_spot or rec is None or rec <= 0:
            continue
        rel = (e.spot_price_limit - rec) / rec
        if abs(rel) > BID_ADVICE_TOLERANCE:
            info = ctx.spec(e.type)
            cur = info.currency if info is not None else None
            yield _f(
                "bid-off-advice",
                f"{path}.spot_price_limit",
                f"bid {_money(e.spot_price_limit, cur)}/h for {e.type} is {rel:+.0%} from the "
                f"recommended {_money(rec, cur)}/h ({ctx.facts.bid_source or 'advice'})",
                f"consider spot_price_limit {rec:.4g}",
            )


# -- specs -------------------------------------------------------------------------------


def _type_path(path: str) -> str:
    return path if path.endswith("instance_type") else f"{path}.type"


def _foreign(ctx: Context, spec: str) -> str | None:
    """Why ``spec`` is not an EAS/ECS type (another provider's, or not shaped like one)."""
    info = ctx.spec(spec)
    if info is not None and info.provider not in (None, EAS_PROVIDER):
        return f"a {info.provider.upper()} type (the specs catalog lists it under {info.provider})"
    if not EAS_TYPE.match(spec):
        return "not an EAS/ECS type name (those read ecs.<family>.<size> or ml.<family>.<size>)"
    return None


def _eas_specs(ctx: Context) -> dict[str, SpecInfo]:
    return {s: i for s, i in ctx.facts.specs.items() if i.provider in (None, EAS_PROVIDER)}


@rule("not-eas-spec", "error", "an instance type of another provider, or not an ECS/EAS type")
def _not_eas_spec(ctx: Context) -> Iterator[Finding]:
    eas = _eas_specs(ctx)
    for path, e in ctx.instance_entries():
        why = None if e.is_dedicated else _foreign(ctx, e.type)
        if why is None:
            continue
        info = ctx.spec(e.type)
        need = info.total_gpu_memory_gib if info is not None else None
        like = sorted(
            (i.on_demand_price or float("inf"), s)
            for s, i in eas.items()
            if i.gpu_count and need is not None and (i.total_gpu_memory_gib or 0) >= need
        )
        yield _f(
            "not-eas-spec",
            _type_path(path),
            f"{e.type!r} is {why}: an EAS service runs on Alibaba ECS/EAS instance types",
            f"use an EAS type with enough GPU memory, e.g. {like[0][1]!r}"
            if like
            else "use an EAS type of the specs catalog (provider alibaba), e.g. "
            "ecs.gn7i-c8g1.2xlarge",
        )


@rule("unknown-spec", "error", "an instance type not in the specs catalog")
def _unknown_spec(ctx: Context) -> Iterator[Finding]:
    if not ctx.facts.has_catalog:
        return
    names = list(_eas_specs(ctx))
    for path, e in ctx.instance_entries():
        if e.is_dedicated or e.type in ctx.facts.specs or _foreign(ctx, e.type):
            continue  # another provider's type is reported by not-eas-spec
        close = difflib.get_close_matches(e.type, names, n=1, cutoff=0.6)
        yield _f(
            "unknown-spec",
            _type_path(path),
            f"unknown instance type {e.type!r}."
            + (f" Did you mean {close[0]!r}?" if close else ""),
            f"use {close[0]!r}" if close else "use a spec of the specs catalog (table specs)",
        )


@rule("gpu-memory-short", "error", "a spec with less GPU memory than the model needs")
def _gpu_memory_short(ctx: Context) -> Iterator[Finding]:
    need = ctx.needs.gpu_memory_gib
    if not need:
        return
    for path, e in ctx.instance_entries():
        info = ctx.spec(e.type)
        have = info.total_gpu_memory_gib if info else None
        if have is not None and have < need:
            sub = path if path.endswith("instance_type") else f"{path}.type"
            yield _f(
                "gpu-memory-short",
                sub,
                f"{e.type} has {have:g} GiB of GPU memory "
                f"({info.gpu_count or 1} × {info.gpu_memory_gib:g}); the model needs "  # type: ignore[union-attr]
                f"{need:g} GiB",
                "drop this entry or pick a spec with more GPU memory",
            )


# -- images ------------------------------------------------------------------------------


# the registry reference grammar (github.com/distribution/reference): [domain[:port]/]
# lower-case path components [:tag] [@digest]; the first part is a domain only when it
# holds a "." or ":" or is "localhost"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"^(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_PATH = re.compile(rf"^(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)(?::{_TAG})?(?:@{_DIGEST})?$")
#: the reference grammar's bound on the repository name
MAX_IMAGE_NAME = 255


def image_problem(image: str) -> str | None:
    """Why ``image`` is not a registry image reference, or None when it is one.

    >>> image_problem("myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/sd/webui:4.2") is None
    True
    >>> image_problem("not a valid image ref!!")
    'is not a registry image reference'
    """
    first, slash, rest = image.partition("/")
    domain = bool(slash) and ("." in first or ":" in first or first == "localhost")
    m = _PATH.match(rest if domain else image)
    if m is None or (domain and not _DOMAIN.match(first)):
        return "is not a registry image reference"
    if len(m["path"]) + (len(first) + 1 if domain else 0) > MAX_IMAGE_NAME:
        return f"has a repository name longer than {MAX_IMAGE_NAME} characters"
    return None


def _tag(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def _containers(ctx: Context) -> list[tuple[str, Any]]:
    if ctx.service is None:
        return []
    return [(f"$.containers[{i}]", c) for i, c in enumerate(ctx.service.containers or [])]


@rule("image-invalid", "error", "a container image that is not a registry reference")
def _image_invalid(ctx: Context) -> Iterator[Finding]:
    for path, c in _containers(ctx):
        problem = image_problem(c.image) if c.image else None
        if problem:
            shown = c.image if len(c.image) <= 80 else c.image[:80] + "…"
            shown = "(credentials not shown)" if find_secrets({"image": c.image}) else repr(shown)
            yield _f(
                "image-invalid",
                f"{path}.image",
                f"image {shown} {problem}: EAS cannot pull it",
                "write <registry>/<namespace>/<repository>:<tag> in lower case, e.g. "
                "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/ns/app:1.0; registry "
                "credentials go in dockerAuth at deploy time",
            )


@rule("accelerated-image-registry", "error", "an _accelerated image not on an ACR EE VPC domain")
def _accelerated_registry(ctx: Context) -> Iterator[Finding]:
    for path, c in _containers(ctx):
        if c.image and _tag(c.image).endswith("_accelerated") and not _ACR_EE_VPC.match(c.image):
            host = c.image.split("/", 1)[0]
            yield _f(
                "accelerated-image-registry",
                f"{path}.image",
                f"image acceleration needs an ACR Enterprise Edition VPC domain; {host!r} is not "
                "one (<instance>-registry-vpc.<region>.cr.aliyuncs.com)",
                "pull the _accelerated tag through your ACR EE instance's VPC domain",
            )


@rule("accelerated-image-no-vpc", "error", "an _accelerated image without cloud.networking")
def _accelerated_no_vpc(ctx: Context) -> Iterator[Finding]:
    svc = ctx.service
    if svc is None:
        return
    net = svc.cloud.networking if svc.cloud else None
    for path, c in _containers(ctx):
        if c.image and _tag(c.image).endswith("_accelerated") and (net is None or not net.vpc_id):
            yield _f(
                "accelerated-image-no-vpc",
                "$.cloud.networking",
                f"{path}.image is an accelerated image but the service has no VPC "
                "(cloud.networking.vpc_id): it cannot reach the ACR EE VPC domain",
                "add cloud.networking with vpc_id, vswitch_id and security_group_id of a VPC "
                "your ACR instance allows",
            )


@rule("image-not-accelerated", "info", "a large image on spot without acceleration")
def _image_not_accelerated(ctx: Context) -> Iterator[Finding]:
    if not ctx.has_spot:
        return
    size = ctx.needs.image_size_gb
    if size is not None and size < LARGE_IMAGE_GB:
        return
    for path, c in _containers(ctx):
        if not c.image or _tag(c.image).endswith("_accelerated"):
            continue
        saving = (
            advice.coldstart_saving_s(None, size, ctx.needs.reclaims_per_month)
            if size is not None
            else None
        )
        gain = _gain(saving, "image_s", "image_monthly") or (
            "the vendor's figure for a 1.34 GB image: pull 36 s → 4 s, start 38 s → 9 s"
        )
        what = f"a {size:g} GB image" if size is not None else "the image (size unknown)"
        yield _f(
            "image-not-accelerated",
            f"{path}.image",
            f"{what} is pulled by every spot replacement without acceleration; {gain}",
            "push it to an ACR Enterprise Edition repository with acceleration on and deploy "
            "the tag with the _accelerated suffix (plus cloud.networking)",
        )


def _gain(saving: Mapping[str, Any] | None, seconds: str, monthly: str) -> str:
    """The cold-start model's saving as text ('' when it gave none)."""
    if not saving or seconds not in saving:
        return ""
    text = f"the cold-start model estimates {saving[seconds]:.0f} s saved per new instance"
    if monthly in saving:
        text += f", {_money(saving[monthly], saving.get('currency'))} per replica per month"
    return text


# -- storage -----------------------------------------------------------------------------


@rule("oss-model-no-cache", "info", "an OSS-mounted model on spot without a memory cache")
def _oss_no_cache(ctx: Context) -> Iterator[Finding]:
    svc = ctx.service
    if svc is None or not ctx.has_spot or not svc.storage:
        return
    raw = [s.model_dump(by_alias=True, exclude_unset=True) for s in svc.storage]
    cached = {c.source_path for c in cachefs.memory_caches(raw)}
    for i, s in enumerate(svc.storage):
        if s.oss is None or s.mount_path in cached:
            continue
        size = ctx.needs.model_size_gb
        saving = (
            advice.coldstart_saving_s(size, None, ctx.needs.reclaims_per_month) if size else None
        )
        gain = _gain(saving, "model_s", "cache_monthly") or (
            "the seed measured 89.9 s → 15.2 s for a 7.2 GB model (cachefs remote hit)"
        )
        yield _f(
            "oss-model-no-cache",
            f"$.storage[{i}]",
            f"OSS mount {s.mount_path} is read from OSS by every spot replacement; a memory "
            f"cache serves it from peers instead: {gain}",
            "add a memory-cache entry over this mount, e.g. "
            + json.dumps(cachefs.memory_cache_entry(s.mount_path or "/models-src", "/models", 20)),
        )


@rule("cache-capacity-invalid", "error", "a memory cache capacity that is not a size")
def _cache_capacity_invalid(ctx: Context) -> Iterator[Finding]:
    for cache in _caches(ctx):
        if cache.capacity is not None and cache.capacity_gib is None:
            yield _f(
                "cache-capacity-invalid",
                f"$.storage[{cache.index}].{cachefs.KEY}.{cachefs.CAPACITY_KEY}",
                f"capacity {cache.capacity!r} is not a size",
                'write it as a number with a unit, e.g. "20G"',
            )


@rule("cache-over-memory", "error", "memory cache capacity above a spec's memory")
def _cache_over_memory(ctx: Context) -> Iterator[Finding]:
    for cache in _caches(ctx):
        cap = cache.capacity_gib
        if cap is None:
            continue
        small = [
            (info.memory_gib, e.type)
            for _, e in ctx.instance_entries()
            if (info := ctx.spec(e.type)) is not None
            and info.memory_gib is not None
            and info.memory_gib < cap
        ]
        if small:
            mem, spec = min(small)
            yield _f(
                "cache-over-memory",
                f"$.storage[{cache.index}].{cachefs.KEY}.{cachefs.CAPACITY_KEY}",
                f"cache capacity {cache.capacity} ({cap:.1f} GiB) exceeds the memory of "
                f"{spec} ({mem:g} GiB)",
                f"lower the capacity well below {mem:g} GiB (the service needs memory too) or "
                "drop the smaller specs",
            )


def _caches(ctx: Context) -> list[cachefs.MemoryCache]:
    if ctx.service is None or not ctx.service.storage:
        return []
    return cachefs.memory_caches(
        [s.model_dump(by_alias=True, exclude_unset=True) for s in ctx.service.storage]
    )


# -- scaling -----------------------------------------------------------------------------


def _ranges(ctx: Context) -> list[tuple[str, str, int, int]]:
    """(file, JSON path prefix, min, max) of each autoscaler present."""
    out = []
    if ctx.service is not None and ctx.service.autoscaler is not None:
        a = ctx.service.autoscaler
        out.append((FILE_NAMES["service"], "$.autoscaler", a.min, a.max))
    if ctx.autoscaler is not None:
        out.append((FILE_NAMES["autoscaler"], "$", ctx.autoscaler.min, ctx.autoscaler.max))
    return out


@rule("autoscaler-min-max", "error", "autoscaler min above max")
def _min_max(ctx: Context) -> Iterator[Finding]:
    for file, path, lo, hi in _ranges(ctx):
        if lo > hi or lo < 0:
            yield _f(
                "autoscaler-min-max",
                child_path(path, "min"),
                f"autoscaler min {lo} is {'negative' if lo < 0 else f'above max {hi}'}",
                "set 0 ≤ min ≤ max",
                file,
            )


@rule("instance-outside-range", "error", "metadata.instance outside the autoscaler's [min, max]")
def _instance_range(ctx: Context) -> Iterator[Finding]:
    if ctx.service is None:
        return
    n = ctx.service.metadata.instance
    for file, _path, lo, hi in _ranges(ctx):
        if lo <= hi and not lo <= n <= hi:
            yield _f(
                "instance-outside-range",
                "$.metadata.instance",
                f"metadata.instance {n} is outside the autoscaler range [{lo}, {hi}] ({file})",
                f"set metadata.instance between {lo} and {hi}",
            )


@rule("cron-target-outside-range", "warning", "a cron TargetSize outside the autoscaler range")
def _cron_target(ctx: Context) -> Iterator[Finding]:
    if ctx.cronscale is None:
        return
    for _file, _path, lo, hi in _ranges(ctx):
        for i, job in enumerate(ctx.cronscale.ScaleJobs):
            if lo <= hi and not lo <= job.TargetSize <= hi:
                yield _f(
                    "cron-target-outside-range",
                    f"$.ScaleJobs[{i}].TargetSize",
                    f"job {job.Name!r} scales to {job.TargetSize}, outside the autoscaler "
                    f"range [{lo}, {hi}]: the autoscaler moves it back",
                    f"keep TargetSize within [{lo}, {hi}] or widen the autoscaler range",
                    FILE_NAMES["cronscale"],
                )


@rule("burstable-without-resource", "error", "resource_burstable without a dedicated resource")
def _burstable(ctx: Context) -> Iterator[Finding]:
    md = ctx.service.metadata if ctx.service else None
    if md is not None and md.resource_burstable is True and not md.resource:
        yield _f(
            "burstable-without-resource",
            "$.metadata.resource_burstable",
            "resource_burstable overflows a dedicated resource group to public resources, but "
            "metadata.resource names no group",
            "set metadata.resource to the dedicated group id (eas-r-...) or drop "
            "resource_burstable",
        )


# 6-field cron: second minute hour day month weekday
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                      "NOV", "DEC")),
    ("weekday", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)  # fmt: skip


def cron_problem(expr: str) -> str | None:
    """Why a 6-field cron expression is invalid, or None when it is valid.

    >>> cron_problem("0 0 9 * * *") is None, cron_problem("0 9 * * *")
    (True, 'has 5 fields, needs 6 (second minute hour day month weekday)')
    """
    parts = expr.split()
    if len(parts) != 6:
        return f"has {len(parts)} fields, needs 6 (second minute hour day month weekday)"
    for text, (name, lo, hi, names) in zip(parts, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            err = _cron_item(item, name, lo, hi, names)
            if err:
                return err
    return None


#: a cron number: at most 2 ASCII digits (every field's range ends below 100), so a
#: 5,000-digit field is refused without converting it
_CRON_NUMBER = re.compile(r"[0-9]{1,2}")


def _cron_value(tok: str, lo: int, hi: int, names: tuple[str, ...]) -> int | None:
    if tok.upper() in names:
        return names.index(tok.upper()) + (lo if lo == 1 else 0)
    if _CRON_NUMBER.fullmatch(tok) and lo <= int(tok) <= hi:
        return int(tok)
    return None


def _short(text: str, n: int = 24) -> str:
    return repr(text if len(text) <= n else text[:n] + "…")


def _cron_item(item: str, name: str, lo: int, hi: int, names: tuple[str, ...]) -> str | None:
    base, _, step = item.partition("/")
    span = hi - lo + 1
    if step and not (_CRON_NUMBER.fullmatch(step) and 1 <= int(step) <= span):
        return f"{name} field {_short(item)}: step {_short(step)} must be an integer in 1-{span}"
    if base in ("*",) or (base == "?" and name in ("day", "weekday")):
        return None
    a, dash, b = base.partition("-")
    first = _cron_value(a, lo, hi, names)
    last = _cron_value(b, lo, hi, names) if dash else first
    if first is None or last is None:
        return f"{name} field {_short(item)} is not in {lo}-{hi}" + (
            f" or {names[0]}-{names[-1]}" if names else ""
        )
    if first > last:
        return f"{name} field {_short(item)}: range start after its end"
    return None


@rule("cron-schedule", "error", "a cron Schedule or ExcludeDates entry that is not 6 valid fields")
def _cron_schedule(ctx: Context) -> Iterator[Finding]:
    if ctx.cronscale is None:
        return
    checks = [
        (f"$.ScaleJobs[{i}].Schedule", j.Schedule) for i, j in enumerate(ctx.cronscale.ScaleJobs)
    ]
    checks += [(f"$.ExcludeDates[{i}]", d) for i, d in enumerate(ctx.cronscale.ExcludeDates or [])]
    for path, expr in checks:
        problem = cron_problem(expr)
        if problem:
            yield _f(
                "cron-schedule",
                path,
                f"cron {_short(expr, 60)} {problem}",
                'write six fields: second minute hour day month weekday, e.g. "0 0 9 * * *"',
                FILE_NAMES["cronscale"],
            )


@rule("cron-timezone", "error", "an unknown cron TimeZone")
def _cron_timezone(ctx: Context) -> Iterator[Finding]:
    if ctx.cronscale is None:
        return
    zones = zoneinfo.available_timezones()
    for i, job in enumerate(ctx.cronscale.ScaleJobs):
        if job.TimeZone is not None and job.TimeZone not in zones:
            hint = did_you_mean(job.TimeZone, zones, n=1)
            yield _f(
                "cron-timezone",
                f"$.ScaleJobs[{i}].TimeZone",
                f"unknown time zone {job.TimeZone!r}.{hint}",
                "use an IANA time zone name such as Asia/Shanghai",
                FILE_NAMES["cronscale"],
            )


# -- containers and secrets --------------------------------------------------------------


@rule("reserved-port", "error", "a container port EAS reserves (8080, 9090)")
def _reserved_port(ctx: Context) -> Iterator[Finding]:
    for path, c in _containers(ctx):
        if c.port in RESERVED_PORTS:
            yield _f(
                "reserved-port",
                f"{path}.port",
                f"port {c.port} is reserved by EAS (8080 and 9090)",
                "serve on another port, e.g. 8000, and set it here",
            )


def _files(ctx: Context) -> list[tuple[str, EasModel]]:
    """(file name, top object) of each file present."""
    files: list[tuple[str, EasModel | None]] = [
        (FILE_NAMES["service"], ctx.service),
        (FILE_NAMES["autoscaler"], ctx.autoscaler),
        (FILE_NAMES["cronscale"], ctx.cronscale),
    ]
    return [(name, model) for name, model in files if model is not None]


@rule("secret-present", "warning", "a secret (token, password, registry credentials) in the config")
def _secrets(ctx: Context) -> Iterator[Finding]:
    for file, model in _files(ctx):
        found = {s.path: s for s in find_secrets(dump(model))}
        for dup in model.duplicate_keys:  # a repeated key must not hide an earlier value
            for value in dup.values:
                for s in find_secrets({dup.key: value}, dup.path):
                    found.setdefault(s.path, s)
        for path, secret in found.items():
            yield _f(
                "secret-present",
                path,
                f"{secret.describe()} (value not shown); the file must not be shared or committed",
                "pass it at deploy time instead; spotlab masks it in what it prints and "
                "`export` leaves it out unless asked (include_secrets=True)",
                file,
            )


@rule("duplicate-key", "error", "a key written twice in one JSON object")
def _duplicate_keys(ctx: Context) -> Iterator[Finding]:
    for file, model in _files(ctx):
        for dup in model.duplicate_keys:
            yield _f(
                "duplicate-key",
                child_path(dup.path, dup.key),
                f"key {dup.key!r} is written {len(dup.values)} times in this object: JSON "
                "readers differ on which one they keep (spotlab reads the last, so an earlier "
                "value, a secret say, goes unchecked)",
                "keep one of them",
                file,
            )


# -- entry point -------------------------------------------------------------------------

Config = ConfigBundle | ServiceConfig | AutoscalerConfig | CronScaleConfig


def _parts(
    config: Config | Mapping[str, Any] | str | Path,
) -> tuple[ServiceConfig | None, AutoscalerConfig | None, CronScaleConfig | None]:
    if isinstance(config, str | Path):
        config = load_bundle(config) if Path(config).is_dir() else load(config)
    elif isinstance(config, Mapping):
        config = load(config)
    if isinstance(config, ConfigBundle):
        return config.service, config.autoscaler, config.cronscale
    if isinstance(config, ServiceConfig):
        return config, None, None
    if isinstance(config, AutoscalerConfig):
        return None, config, None
    if isinstance(config, CronScaleConfig):
        return None, None, config
    raise ConfigError(
        "lint takes a config: a file or folder path, a parsed JSON object or a model, "
        f"not {type(config).__name__}",
        json_path="$",
    )


def lint(
    config: Config | Mapping[str, Any] | str | Path,
    store: Store | None = None,
    requirements: Requirements | Mapping[str, Any] | None = None,
    *,
    bids: Mapping[str, float] | None = None,
    catalog: Mapping[str, SpecInfo] | pl.DataFrame | None = None,
) -> list[Finding]:
    """Check a config against the spot best practices; findings sorted errors first.

    ``config``: a bundle, one of the three models, a parsed dict, a file or a folder written
    by export. ``store`` supplies the specs catalog, market prices and the bid advisor's
    recommendations (without it: the bundled catalog, no market checks). ``requirements``:
    a :class:`~spotlab.requirements.Requirements` or a mapping of its keys
    (``gpu_memory_gib``, ``model_size_gb``, ``image_size_gb``, ``region``,
    ``reclaims_per_month``, ...; any may be missing, an unknown key is an error).
    ``bids`` overrides the advised bids ({spec: bid per hour}); ``catalog`` the specs
    catalog.
    """
    service, autoscaler, cronscale = _parts(config)
    need = Requirements.optional(requirements)
    specs = [e.type for e in service.instances] if service is not None else []
    ctx = Context(
        service=service,
        autoscaler=autoscaler,
        cronscale=cronscale,
        facts=facts.gather(store, specs, need.region, catalog, bids),
        needs=need,
    )
    found = [f for r in RULES.values() for f in r.check(ctx)]
    if isinstance(config, str | Path) and Path(config).is_file():
        found = [replace(f, file=Path(config).name) for f in found]  # name the user's file
    return sorted(found, key=lambda f: (SEVERITY_ORDER[f.severity], f.file, f.path))


def errors(findings: list[Finding]) -> list[Finding]:
    """The findings of severity error."""
    return [f for f in findings if f.severity == "error"]


def findings_frame(findings: list[Finding]) -> pl.DataFrame:
    """Findings as a frame (columns severity, rule, file, path, message, fix)."""
    cols = ["severity", "rule", "file", "path", "message", "fix"]
    if not findings:
        return pl.DataFrame(schema=dict.fromkeys(cols, pl.String))
    return pl.DataFrame([f.as_dict() for f in findings]).select(cols)


def format_findings(findings: list[Finding]) -> str:
    """Findings as text, one per block: severity, file and path, message, fix."""
    if not findings:
        return "no findings"
    lines = []
    for f in findings:
        lines.append(f"{f.severity:<7} {f.file} {f.path}  [{f.rule}]")
        lines.append(f"        {f.message}")
        lines.append(f"        fix: {f.fix}")
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITY_ORDER}
    lines.append(", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items()))
    return "\n".join(lines)
