"""The fetch pipeline: plan the calls, page through them into the raw dir, ingest as one.

A *source* (one per provider API family, in :mod:`spotlab.fetch.alibaba`,
:mod:`spotlab.fetch.eas` and :mod:`spotlab.fetch.aws`) knows one API: which calls a fetch
makes (:meth:`Source.plan`, e.g. one per spec and 30-day window), how to make one page's
call with the provider's SDK (:meth:`Source.call`) and how to read a page's items and next
token (:meth:`Source.parse`). This module does the rest, the same for every source:

1. **Raw dir.** Each call's pages go to ``<raw>/<source>/<region>/<call key>/<run>/``:
   ``request.json`` (the call's parameters, no credentials), ``page-0001.json``, ... in the
   format the file readers take, and the markers ``complete`` (every page is there) and
   ``ingested``. A rerun after a failure finds the run that was not ingested and resumes
   it: its complete pages are not asked for again, paging goes on from the last one.
2. **Retry.** Throttling, server errors, a network failure or a cut-off body are retried
   with exponential backoff (honouring a server's retry-after), a bounded number of
   times; ``sleep`` is injectable so tests do not wait.
3. **One transaction.** Every page with items is ingested through its reader
   (:func:`spotlab.ingest.ingest_file`) inside one transaction: all of a fetch or none of
   it. Each page is a source with ``rows_read = loaded + duplicate + rejected``; a page
   already loaded (same bytes) is skipped as such.

Failures are :class:`~spotlab.errors.FetchError` naming the source, the region and what to
do; the database is then unchanged and the pages already fetched stay for the rerun.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

from spotlab.errors import FetchError, FormatError, SpotlabError
from spotlab.ingest import IngestResult, get_reader
from spotlab.ingest.core import ingest_file
from spotlab.store import Store

#: environment variable naming a test endpoint (a local replay server); see ``--endpoint``
ENDPOINT_ENV = "SPOTLAB_FETCH_ENDPOINT"
#: at most this many pages per call: a server that never stops paging is an error
MAX_PAGES = 10_000
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$")


@dataclass(frozen=True)
class Retry:
    """Bounded retry: ``attempts`` tries in all, waiting ``base_seconds`` × 2^n (at most
    ``cap_seconds``, or what the server asked for) between them."""

    attempts: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after > 0:
            return min(float(retry_after), self.cap_seconds)
        return min(self.base_seconds * 2 ** (attempt - 1), self.cap_seconds)


@dataclass(frozen=True)
class Endpoint:
    """A test endpoint (``http://127.0.0.1:8765``): every SDK client is pointed at it."""

    url: str

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0]

    @classmethod
    def parse(cls, text: str | None) -> Endpoint | None:
        if not text:
            return None
        m = re.fullmatch(r"(https?)://([^/:\s]+|\[::1\])(:\d+)?/?", text.strip())
        if not m:
            raise SpotlabError(
                f"--endpoint {text!r} is not a URL such as http://127.0.0.1:8765 (scheme, "
                "host and port only)"
            )
        if m.group(1) == "http" and not _LOOPBACK.match(m.group(2)):
            raise SpotlabError(
                f"--endpoint {text!r}: plain http is allowed only to this machine (127.0.0.1, "
                "localhost): the endpoint override is for testing against a replay server"
            )
        return cls(f"{m.group(1)}://{m.group(2)}{m.group(3) or ''}")


@dataclass
class Context:
    """What a fetch was asked for, handed to the source."""

    source: str
    region: str | None
    specs: tuple[str, ...]
    since: datetime | None
    profile: str | None
    endpoint: Endpoint | None
    now: datetime
    sleep: Callable[[float], None] = time.sleep
    retry: Retry = field(default_factory=Retry)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One paginated API call: ``key`` names its folder; ``params`` (JSON) are recorded."""

    key: str
    params: dict[str, Any]
    what: str


@dataclass(frozen=True)
class Page:
    """A response page as read by :meth:`Source.parse`."""

    items: int
    next_token: Any | None


class Failure(Exception):
    """A classified SDK failure (internal: the pipeline turns it into a FetchError).

    ``reason``: ``no-credentials``, ``denied``, ``throttled``, ``server``, ``network``,
    ``truncated``, ``bad-response``, ``bad-request``; those in :attr:`RETRIED` are retried
    (bounded), the others fail at once."""

    RETRIED: ClassVar[frozenset[str]] = frozenset({"throttled", "server", "network", "truncated"})

    def __init__(
        self, reason: str, detail: str, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.code = code
        self.retry_after = retry_after


class Source(Protocol):
    name: str
    provider: str
    #: the reader (``spotlab.ingest.READERS``) that takes this source's pages
    format: str
    #: the permission a denied call lacks, for the message (``ecs:DescribeSpotPriceHistory``)
    permission: str
    #: False for global feeds (no --region)
    regional: bool

    def plan(self, store: Store, ctx: Context) -> list[Call]: ...

    def connect(self, ctx: Context) -> Any: ...

    def call(self, client: Any, call: Call, token: Any | None) -> Any: ...

    def parse(self, body: Any) -> Page: ...

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]: ...


@dataclass
class FetchResult:
    """What a fetch did: calls and pages, and one :class:`IngestResult` per page loaded."""

    source: str
    region: str | None
    raw_dir: str
    calls: int
    pages_fetched: int
    pages_reused: int
    results: list[IngestResult]
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.results)

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.results)

    @property
    def rows_duplicate(self) -> int:
        return sum(r.rows_duplicate for r in self.results)

    @property
    def rows_rejected(self) -> int:
        return sum(r.rows_rejected for r in self.results)

    def summary(self) -> dict[str, Any]:
        """One row: the fetch's counts (rows_read = loaded + duplicate + rejected)."""
        return {
            "source": self.source,
            "region": self.region,
            "calls": self.calls,
            "pages_fetched": self.pages_fetched,
            "pages_reused": self.pages_reused,
            "pages_loaded": sum(not r.skipped_as_duplicate_file for r in self.results),
            "pages_already_loaded": sum(r.skipped_as_duplicate_file for r in self.results),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_duplicate": self.rows_duplicate,
            "rows_rejected": self.rows_rejected,
            "raw_dir": self.raw_dir,
        }

    def as_dict(self) -> dict[str, Any]:
        out = self.summary()
        out["notes"] = list(self.notes)
        out["pages"] = [asdict(r) for r in self.results]
        return out


# -- paths and times -----------------------------------------------------------------------


def default_raw_dir(store: Store) -> Path:
    """Beside the database: ``spotlab.duckdb`` → ``spotlab.raw/``; in memory: ``./spotlab.raw``."""
    if store.path == ":memory:":
        return Path("spotlab.raw").resolve()
    db = Path(store.path).resolve()
    return db.with_name(db.stem + ".raw")


def parse_since(since: str | datetime | None, now: datetime) -> datetime | None:
    """``"30d"``/``"48h"``/``"2w"`` back from now, or an ISO 8601 date or time (UTC if no
    offset); None: from the newest stored point."""
    if since is None or isinstance(since, datetime):
        return since.astimezone(UTC) if isinstance(since, datetime) else None
    from spotlab.prices import parse_window

    text = str(since).strip()
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            length = parse_window(text)
        except SpotlabError as exc:
            raise SpotlabError(
                f"--since {since!r}: give a length back from now (30d, 48h, 2w) or an ISO 8601 "
                "date or time (2025-01-31, 2025-01-31T08:00:00Z)"
            ) from exc
        if length is None:
            raise SpotlabError(
                f"--since {since!r}: 'all' is not a start; give 90d or a date"
            ) from None
        return now - length
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at >= now:
        raise SpotlabError(f"--since {since!r} is not in the past")
    return at.astimezone(UTC)


def iso(t: datetime) -> str:
    """``2025-01-31T08:00:00Z`` (whole seconds, UTC): the form both providers take."""
    return t.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def windows(start: datetime, end: datetime, longest: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into pieces of at most ``longest`` (an API's window limit)."""
    out = []
    while start < end:
        stop = min(start + longest, end)
        out.append((start, stop))
        start = stop
    return out


def safe_name(text: str) -> str:
    """A file-name part from a key (spec names keep their dots)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text)[:120] or "_"


# -- the pipeline --------------------------------------------------------------------------


def run(store: Store, source: Source, ctx: Context, raw_dir: Path | None) -> FetchResult:
    """Fetch every page of every call the source plans, then ingest them in one transaction."""
    if store.read_only:
        raise SpotlabError(f"the store {store.path} is read-only: open it writable to fetch")
    if source.regional and not ctx.region:
        raise FetchError(
            "--region is required (e.g. --region cn-hangzhou or us-east-1)",
            source.name, None, "bad-request",
        )  # fmt: skip
    root = (raw_dir or default_raw_dir(store)).resolve()
    base = root / source.name / (ctx.region or "global")
    calls = _guard(source, ctx, base, lambda: source.plan(store, ctx), 0)
    client = _guard(source, ctx, base, lambda: source.connect(ctx), 0)
    reader = get_reader(source.format)
    fetched = reused = 0
    runs: list[tuple[Call, Path, list[tuple[Path, Page]]]] = []
    for call in calls:
        folder = _run_folder(base / safe_name(call.key), call, ctx.now)
        pages, n_new, n_old = _pages(source, client, call, folder, ctx, base, reader)
        fetched += n_new
        reused += n_old
        runs.append((call, folder, pages))
    results: list[IngestResult] = []
    with store.transaction():
        for call, folder, pages in runs:
            opts = source.ingest_options(call, folder)
            for path, page in pages:
                if page.items:
                    results.append(_ingest_page(store, path, reader, opts, source, ctx, base))
    for _call, folder, _pages_of in runs:
        (folder / "ingested").write_text(iso(datetime.now(UTC)) + "\n")
    notes = []
    if not calls:
        notes.append("nothing to fetch: no calls were planned")
    for r in results:
        notes.extend(r.notes)
    return FetchResult(
        source.name, ctx.region, str(base), len(calls), fetched, reused, results, notes
    )


def _run_folder(call_dir: Path, call: Call, now: datetime) -> Path:
    """The run to fill: the newest one of this call not yet ingested (a rerun resumes it),
    else a new one stamped with the fetch time."""
    if call_dir.is_dir():
        pending = sorted(
            d
            for d in call_dir.iterdir()
            if d.is_dir() and (d / "request.json").is_file() and not (d / "ingested").exists()
        )
        if pending:
            return pending[-1]
    folder = call_dir / now.strftime("%Y%m%dT%H%M%SZ")
    n = 1
    while folder.exists():
        n += 1
        folder = call_dir / f"{now:%Y%m%dT%H%M%SZ}-{n}"
    folder.mkdir(parents=True)
    _write_atomic(folder / "request.json", json.dumps(call.params, indent=1, sort_keys=True))
    return folder


def _pages(
    source: Source,
    client: Any,
    call: Call,
    folder: Path,
    ctx: Context,
    base: Path,
    reader: Any,
) -> tuple[list[tuple[Path, Page]], int, int]:
    """Every page of one call: those already in ``folder``, then the rest from the API."""
    params = json.loads((folder / "request.json").read_text())
    call = Call(call.key, params, call.what)  # a resumed run keeps its own parameters
    pages: list[tuple[Path, Page]] = []
    for path in sorted(folder.glob("page-*.json")):
        pages.append((path, _parse(source, ctx, base, path, len(pages) + 1)))
    reused = len(pages)
    if (folder / "complete").exists():
        return pages, 0, reused
    token = pages[-1][1].next_token if pages else None
    if pages and token is None:
        (folder / "complete").write_text("\n")
        return pages, 0, reused
    seen_tokens: set[str] = set()
    new = 0
    while True:
        n = len(pages) + 1
        if n > MAX_PAGES:
            raise _error(
                source, ctx, base, "bad-response",
                f"{call.what}: more than {MAX_PAGES} pages; the API keeps paging",
                "report it; fetch a shorter --since window meanwhile",
            )  # fmt: skip
        ask = functools.partial(source.call, client, call, token)
        body = _guard(source, ctx, base, ask, n, call.what)
        path = folder / f"page-{n:04d}.json"
        text = json.dumps(body, ensure_ascii=False, indent=1, default=str)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        try:
            page = _parse(source, ctx, base, tmp, n, call.what)
            if page.items:
                _check_with_reader(reader, tmp, source.ingest_options(call, folder))
        except BaseException:
            tmp.unlink()
            raise
        os.replace(tmp, path)
        pages.append((path, page))
        new += 1
        token = page.next_token
        if token is None:
            break
        key = json.dumps(token, sort_keys=True, default=str)
        if key in seen_tokens:
            raise _error(
                source, ctx, base, "bad-response",
                f"{call.what}: page {n} repeats an earlier next-page token ({key[:40]})",
                "report it; the API keeps answering the same page",
            )  # fmt: skip
        seen_tokens.add(key)
    (folder / "complete").write_text("\n")
    return pages, new, reused


def _parse(source: Source, ctx: Context, base: Path, path: Path, n: int, what: str = "") -> Page:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return source.parse(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = f"page {n} ({path.name}) is not valid JSON: {exc}"
    except Failure as exc:
        detail = f"page {n}{' of ' + what if what else ''}: {exc.detail}"
    raise _error(
        source, ctx, base, "bad-response", detail,
        "the API answered in a shape spotlab does not know; nothing was loaded. Report it "
        "with the page file",
    )  # fmt: skip


def _check_with_reader(reader: Any, path: Path, options: dict[str, Any]) -> None:
    """Read a page through its reader (no database): a shape the reader cannot take is an
    unexpected response, found before the page is kept."""
    staged = reader.read(path, **options)
    for _batch in staged.batches:
        pass


def _ingest_page(
    store: Store,
    path: Path,
    reader: Any,
    options: dict[str, Any],
    source: Source,
    ctx: Context,
    base: Path,
) -> IngestResult:
    try:
        return ingest_file(store, path, reader, **options)
    except FormatError as exc:
        raise _error(
            source, ctx, base, "bad-response", f"a page could not be loaded: {exc}",
            "nothing was loaded; report it with the page file",
        ) from exc  # fmt: skip


def _guard(
    source: Source,
    ctx: Context,
    base: Path,
    fn: Callable[[], Any],
    page: int,
    what: str = "",
) -> Any:
    """Run one SDK call with bounded retry; a failure becomes a FetchError."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Failure as f:
            if f.reason in Failure.RETRIED and attempt < ctx.retry.attempts:
                ctx.sleep(ctx.retry.delay(attempt, f.retry_after))
                continue
            raise _failed(source, ctx, base, f, page, attempt, what) from None


_ADVICE = {
    "no-credentials": "{how}",
    "denied": "grant the {iam} user or role the permission {permission}, or pick another --profile",
    "throttled": "the API's rate limit was hit: wait a minute and run the same command "
    "again, or fetch fewer specs per run",
    "server": "the provider's service failed: run the same command again later",
    "network": "check the network (and any proxy) to the provider's endpoint, then run the "
    "same command again",
    "truncated": "the response was cut off or not JSON: run the same command again",
    "bad-response": "the API answered in a shape spotlab does not know; nothing was loaded. "
    "Report it with the page file",
    "bad-request": "check the region and spec names",
}


def _failed(
    source: Source, ctx: Context, base: Path, f: Failure, page: int, attempts: int, what: str
) -> FetchError:
    from spotlab.fetch.credentials import ALIBABA_HOW, AWS_HOW

    how = ALIBABA_HOW if source.provider == "alibaba" else AWS_HOW
    iam = "RAM" if source.provider == "alibaba" else "IAM"
    advice = _ADVICE[f.reason].format(how=how, permission=source.permission, iam=iam)
    code = f" ({f.code})" if f.code else ""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    kinds = {
        "no-credentials": "no credentials found",
        "denied": "access denied",
        "throttled": "throttled",
        "server": "server error",
        "network": "network error",
        "truncated": "unreadable response",
        "bad-response": "unexpected response",
        "bad-request": "request refused",
    }
    at = f" on page {page}{' of ' + what if what else ''}" if page else ""
    detail = f": {f.detail.rstrip('. ')}" if f.detail else ""
    return _error(
        source, ctx, base, f.reason, f"{kinds[f.reason]}{code}{tries}{at}{detail}", advice
    )


def _error(
    source: Source, ctx: Context, base: Path, reason: str, what: str, advice: str
) -> FetchError:
    kept = sum(
        len(list(run.glob("page-*.json")))
        for run in (base.glob("*/*") if base.is_dir() else [])
        if run.is_dir() and not (run / "ingested").exists()
    )
    tail = "; the database is unchanged"
    if kept:
        tail += f"; {kept} page(s) fetched so far are kept under {base}: a rerun resumes"
    text = f"{what}. What to do: {advice}{tail}"
    return FetchError(" ".join(text.split()), source.name, ctx.region, reason)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def known_specs(store: Store, provider: str, region: str | None) -> list[str]:
    """The specs the store knows for a provider in a region: in the catalog or with stored
    spot prices, sorted."""
    rows = store.query(
        "SELECT spec FROM specs WHERE provider = $p AND (region = $r OR $r IS NULL) UNION "
        "SELECT DISTINCT spec FROM spot_prices WHERE provider = $p AND (region = $r OR $r IS NULL) "
        "ORDER BY spec",
        {"p": provider, "r": region},
    )
    return [str(s) for s in rows["spec"].to_list()]


def specs_for(store: Store, ctx: Context, provider: str) -> list[str]:
    """The specs a fetch asks about: ``--spec``, else those the store knows there."""
    specs = list(ctx.specs) or known_specs(store, provider, ctx.region)
    if not specs:
        raise Failure(
            "bad-request",
            f"no --spec named and the store knows no {provider} specs in {ctx.region}: pass "
            "--spec (repeatable), e.g. --spec "
            + ("ecs.gn8is.2xlarge" if provider == "alibaba" else "g5.xlarge"),
        )
    return specs


def newest_points(
    store: Store, provider: str, region: str, specs: Sequence[str]
) -> dict[str, datetime]:
    """Per spec: the oldest of its zones' newest stored points (where a fetch resumes so
    that no zone misses a point)."""
    if not specs:
        return {}
    rows = store.query(
        "SELECT spec, min(newest) AS start FROM (SELECT spec, zone, max(ts) AS newest "
        "FROM spot_prices WHERE provider = ? AND region = ? AND list_contains(?, spec) "
        "GROUP BY ALL) GROUP BY spec",
        [provider, region, list(specs)],
    )
    return {
        str(s): t.astimezone(UTC)
        for s, t in zip(rows["spec"].to_list(), rows["start"].to_list(), strict=True)
    }
