"""A local HTTP server replaying sample provider API responses, for ``spotlab fetch``.

The SDKs run unchanged (their request building, signing and parsing) with their endpoint
pointed here (``spotlab fetch --endpoint http://127.0.0.1:PORT`` or
``SPOTLAB_FETCH_ENDPOINT``). The responses in ``spotlab/replay/responses/`` were constructed
from the documented shapes, **not recorded from a live account** (see its README). It ships
with the package so that notebook 01 and the README's fetch walk-through run from an
installed wheel as well as from the repository; the tests use it too.

Requests are routed by what each SDK sends: Alibaba Cloud's ``x-acs-action`` header (ECS
RPC and EAS ROA calls), EC2's query ``Action`` (form body), the Price List API's
``X-Amz-Target``, and S3's ``GET /bucket/key``. Every request is recorded (route and
parameters) so that tests can check the SDK came here and nothing went elsewhere.

From a shell (for the README's acceptance commands)::

    python -m spotlab.replay alibaba            # or alibaba-throttled, alibaba-denied, aws, ...
    # replaying 'alibaba' on http://127.0.0.1:8765 (sample responses constructed from ...)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import re
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "responses"
LABEL = "sample responses constructed from the documented API shapes, not from a live account"


#: ``${now}``, ``${now-12d}``, ``${now-6h}`` in a fixture: a time relative to when it is
#: loaded (whole hours, UTC), so that a fetch's default 30-day window holds the samples
_RELATIVE = re.compile(r"\$\{now(?:-(\d+)([dh]))?\}")


def _times(text: str, now: datetime | None = None) -> str:
    at = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1) or 0)
        back = timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n)
        return (at - back).strftime("%Y-%m-%dT%H:%M:%SZ")

    return _RELATIVE.sub(sub, text)


def load(name: str, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The routes of a fixture file (``alibaba``, ``aws``), relative times filled in."""
    doc = json.loads(_times((FIXTURES / f"{name}.json").read_text(), now))
    return doc["routes"]


def error(name: str, times: int | None = None) -> dict[str, Any]:
    """A recorded error response (``errors.json``), served ``times`` times (None: always)."""
    doc = json.loads((FIXTURES / "errors.json").read_text())
    out = copy.deepcopy(doc["responses"][name])
    if times is not None:
        out["times"] = times
    return out


def failing(base: str, route: str, name: str, times: int | None = None, after: int = 0) -> Any:
    """``base``'s routes with ``route`` answering the error ``name`` (after ``after``
    good answers to the first response when given)."""
    routes = load(base)
    good = routes[route]
    bad = [error(name, times)]
    if after:
        first = dict(good[0], times=after)
        routes[route] = [first, *bad, *good]
    else:
        routes[route] = [*bad, *good]
    return routes


#: scenarios by name, for the command line and the tests
SCENARIOS = {
    "alibaba": lambda: load("alibaba"),
    "aws": lambda: load("aws"),
    "alibaba-throttled": lambda: failing(
        "alibaba", "alibaba:DescribeSpotPriceHistory", "alibaba-throttled"
    ),
    "alibaba-throttled-twice": lambda: failing(
        "alibaba", "alibaba:DescribeSpotPriceHistory", "alibaba-throttled", times=2
    ),
    "alibaba-denied": lambda: failing(
        "alibaba", "alibaba:DescribeSpotPriceHistory", "alibaba-denied"
    ),
    "alibaba-midway": lambda: failing(
        "alibaba", "alibaba:DescribeSpotPriceHistory", "alibaba-server", after=1
    ),
    "alibaba-truncated": lambda: failing(
        "alibaba", "alibaba:DescribeSpotPriceHistory", "alibaba-truncated"
    ),
    "alibaba-shape": lambda: failing(
        "alibaba", "alibaba:DescribeSpotPriceHistory", "alibaba-shape"
    ),
    "aws-throttled": lambda: failing("aws", "ec2:DescribeSpotPriceHistory", "aws-throttled"),
    "aws-denied": lambda: failing("aws", "ec2:DescribeSpotPriceHistory", "aws-denied"),
}


class ReplayServer:
    """``with ReplayServer(routes) as server:`` serves on 127.0.0.1 (``server.url``) in a
    thread of this process; ``server.requests`` lists what came in."""

    def __init__(self, routes: dict[str, list[dict[str, Any]]], port: int = 0) -> None:
        self.routes = copy.deepcopy(routes)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def __enter__(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def calls(self, route: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["route"] == route]

    # -- routing ---------------------------------------------------------------------
    def answer(
        self, route: str, params: dict[str, str], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        with self._lock:
            self.requests.append(
                {"route": route, "params": dict(params), "headers": dict(headers or {})}
            )
            for resp in self.routes.get(route, []):
                match = resp.get("match") or {}
                if any(params.get(k) != (None if v is None else str(v)) for k, v in match.items()):
                    continue
                times = resp.get("times")
                if times is not None:
                    if times <= 0:
                        continue
                    resp["times"] = times - 1
                return resp
        return {
            "status": 404,
            "json": {"Code": "NotFound.Replay", "Message": f"no recorded response for {route} "
                     f"{json.dumps(params, sort_keys=True)[:200]}"},
        }  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                params = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
                target = self.headers.get("X-Amz-Target")
                action = self.headers.get("x-acs-action")
                if action:
                    route = f"alibaba:{action}"
                elif target:
                    route = f"pricing:{target.rsplit('.', 1)[-1]}"
                    doc = json.loads(body or b"{}")
                    params |= {k: json.dumps(v) if not isinstance(v, str) else v
                               for k, v in doc.items()}  # fmt: skip
                elif b"Action=" in body:
                    form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                    params |= form
                    route = f"ec2:{form.get('Action')}"
                else:
                    route = "s3:GetObject" if self.command == "GET" else f"http:{self.command}"
                    params["path"] = url.path
                resp = server.answer(route, params, dict(self.headers))
                if "json" in resp:
                    data = json.dumps(resp["json"]).encode()
                    ctype = "application/json"
                else:
                    data = str(resp.get("text", "")).encode()
                    ctype = "text/xml" if data.lstrip().startswith(b"<") else "text/plain"
                self.send_response(int(resp.get("status", 200)))
                headers = {"Content-Type": ctype, **resp.get("headers", {})}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server = ReplayServer(SCENARIOS[args.scenario](), port=args.port)
    print(f"replaying {args.scenario!r} on {server.url} ({LABEL}); Ctrl-C stops", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
