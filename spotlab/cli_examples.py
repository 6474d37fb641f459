"""One example per CLI command, shown at the end of its ``--help``.

:func:`add_examples` sets each registered command's epilog from :data:`EXAMPLES`, so a
command's body never carries its help text twice; ``tests/test_cli_help.py`` fails when a
command has no example here.
"""

from __future__ import annotations

from typing import Any

#: command name → example command lines (run on the bundled data after ``ingest data/``)
EXAMPLES: dict[str, tuple[str, ...]] = {
    "ingest": (
        "spotlab ingest data/",
        "spotlab ingest --sample",
        "spotlab ingest prices.csv --map price=spot_price --strict",
    ),
    "fetch": (
        "spotlab fetch alibaba-spot-prices --region cn-hangzhou --spec ecs.gn8is.2xlarge "
        "--since 30d",
    ),
    "formats": ("spotlab formats",),
    "sources": ("spotlab sources",),
    "rejects": ("spotlab rejects 3 --limit 20",),
    "forget": ("spotlab forget 3", "spotlab ingest prices.csv --reload"),
    "prices": ("spotlab prices ecs.gn8is.2xlarge --zone cn-hangzhou-h --since 2026-11-20",),
    "lint": ("spotlab lint deploy/service.json --gpu-memory-gib 24",),
    "export": (
        "spotlab export --out deploy --name demo --gpu-memory-gib 24 "
        "--image myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/llm/serving:1.0",
    ),
    "schema": ("spotlab schema --kind autoscaler",),
    "coldstart": (
        "spotlab coldstart --model-size-gb 7.2 --image-size-gb 12 --reclaims-per-month 10",
    ),
    "interruptions": ("spotlab interruptions --by provider,spec",),
    "order": ("spotlab order --gpu-memory-gib 24 --model-size-gb 7.2",),
    "allocate": (
        "spotlab allocate 10 --dedicated 2 "
        "--pool ecs.gn8v-8x.48xlarge=3,ecs.gn8is-8x.32xlarge=2,ml.gu7i.c8m30.1-gu30=10",
    ),
    "bids": ("spotlab bids --spec ecs.gn8is.2xlarge --target 0.99",),
    "backtest": ("spotlab backtest --provider alibaba --window 7d --horizon 7d",),
    "simulate": ("spotlab simulate g4dn.xlarge --spot-price 0.1578 --regular-price 0.526",),
    "scale": ("spotlab scale synthetic-chat --qps-per-replica 20 --dedicated-monthly-price 1200",),
    "assumptions": ("spotlab assumptions", "spotlab assumptions --json"),
    "report": ("spotlab report --out out/ --image <your registry image>",),
}


def command_name(info: Any) -> str:
    """The name typer gives a registered command (its ``name``, else the function's)."""
    return str(info.name or info.callback.__name__.replace("_", "-"))


def epilog(name: str) -> str:
    """The ``--help`` epilog of a command: its examples, one per line."""
    lines = EXAMPLES[name]
    head = "Example:" if len(lines) == 1 else "Examples:"
    # typer's help joins single line breaks into spaces: one example per paragraph
    return "\n\n".join([head, *lines])


def add_examples(app: Any) -> None:
    """Set every registered command's epilog from :data:`EXAMPLES` (missing: no epilog,
    which the help test reports)."""
    for info in app.registered_commands:
        name = command_name(info)
        if name in EXAMPLES and not info.epilog:
            info.epilog = epilog(name)
