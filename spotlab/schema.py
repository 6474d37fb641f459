"""The DuckDB schema: every table spotlab keeps, as versioned, recorded migrations.

The tables and columns here are a public contract: users query them from notebooks.
Prices are per hour in the row's ``currency``; times are ``TIMESTAMPTZ`` in UTC.

Logical keys (enforced by ingestion's de-duplication, documented here once):

- ``specs``: (provider, region, spec)
- ``spot_prices``: (provider, zone, spec, ts); each row is a change point that holds until
  the next row of its (provider, zone, spec) series. ``discount`` = spot ÷ on-demand.

Migrations are applied in version order inside one transaction each, and recorded in
``schema_migrations``. A migration is never edited once released: add a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "foundation: specs, spot_prices, sources, rejects",
        (
            """
            CREATE TABLE sources (
                source_id      INTEGER PRIMARY KEY,
                uri            VARCHAR NOT NULL,
                sha256         VARCHAR NOT NULL,
                format         VARCHAR NOT NULL,
                kind           VARCHAR NOT NULL,
                rows_read      BIGINT NOT NULL,
                rows_loaded    BIGINT NOT NULL,
                rows_duplicate BIGINT NOT NULL,
                rows_rejected  BIGINT NOT NULL,
                ingested_at    TIMESTAMPTZ NOT NULL,
                naive_timestamps BIGINT NOT NULL DEFAULT 0,
                CHECK (rows_read = rows_loaded + rows_duplicate + rows_rejected)
            )
            """,
            "CREATE SEQUENCE source_id_seq START 1",
            """
            CREATE TABLE rejects (
                source_id  INTEGER NOT NULL,
                row_number BIGINT NOT NULL,
                reason     VARCHAR NOT NULL,
                raw        VARCHAR
            )
            """,
            """
            CREATE TABLE specs (
                provider        VARCHAR NOT NULL,
                region          VARCHAR NOT NULL,
                spec            VARCHAR NOT NULL,
                family          VARCHAR,
                vcpu            INTEGER,
                memory_gib      DOUBLE,
                gpu_model       VARCHAR,
                gpu_count       INTEGER,
                gpu_memory_gib  DOUBLE,
                on_demand_price DOUBLE,
                currency        VARCHAR,
                price_is_estimate BOOLEAN NOT NULL DEFAULT FALSE,
                source_id       INTEGER,
                PRIMARY KEY (provider, region, spec)
            )
            """,
            """
            CREATE TABLE spot_prices (
                provider        VARCHAR NOT NULL,
                region          VARCHAR NOT NULL,
                zone            VARCHAR NOT NULL,
                spec            VARCHAR NOT NULL,
                ts              TIMESTAMPTZ NOT NULL,
                spot_price      DOUBLE,
                discount        DOUBLE,
                on_demand_price DOUBLE,
                currency        VARCHAR NOT NULL,
                source_id       INTEGER NOT NULL,
                CHECK (spot_price IS NOT NULL OR discount IS NOT NULL)
            )
            """,
        ),
    ),
]

SCHEMA_VERSION: int = max(m.version for m in MIGRATIONS)


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'schema_migrations' AND table_schema = 'main'"
    ).fetchall()
    if not exists or not exists[0][0]:
        return set()
    return {int(r[0]) for r in con.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration not yet recorded, each in its own transaction.

    Returns the versions applied now (empty when the database is up to date).
    """
    done = applied_versions(con)
    applied: list[int] = []
    for m in sorted(MIGRATIONS, key=lambda m: m.version):
        if m.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
            )
            for stmt in m.statements:
                con.execute(stmt)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, now())", [m.version, m.description]
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(m.version)
    return applied
