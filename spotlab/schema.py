"""The DuckDB schema: every table spotlab keeps, as versioned, recorded migrations.

The tables and columns here are a public contract: users query them from notebooks.
Prices are per hour in the row's ``currency``; times are ``TIMESTAMPTZ`` in UTC.

Logical keys (enforced by ingestion's de-duplication, documented here once):

- ``specs``: (provider, region, spec)
- ``spot_prices``: (provider, zone, spec, ts); each row is a change point that holds until
  the next row of its (provider, zone, spec) series. ``discount`` = spot ÷ on-demand;
  ``catalog_filled`` names what was derived from the specs catalog's on-demand price (kept
  in step when that price changes).
- ``instance_events``: (provider, instance_id, event, ts); ``instances``: (provider,
  instance_id); ``instance_exposure``: (provider, zone, spec, is_spot, service,
  period_start); ``interruption_bands``: (provider, region, zone, spec, os, observed_at).
- ``load_benchmarks``: (model, path, hardware, run).
- ``spot_placement_scores``: (provider, region, zone, specs, target_capacity, observed_at);
  ``spec_stock``: (provider, region, spec, observed_at).

Accounting: ``sources.rows_read = rows_loaded + rows_duplicate + rows_rejected`` (a CHECK);
``rows_conflict`` counts the rejects that are conflicts (a key stored, or earlier in the
file, with another value), so ``0 <= rows_conflict <= rows_rejected``. ``rejects`` holds
every rejected row with its ``reason_code`` (stable, groupable) and ``reason`` (the message).

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
    Migration(
        2,
        "interruptions: instance_events, instances, instance_exposure, interruption_bands",
        (
            # Lifecycle events of instances; key (provider, instance_id, event, ts). Events
            # that carry only an instance id keep spec/zone NULL here: they are attributed at
            # query time from the instance's other events or from ``instances``.
            """
            CREATE TABLE instance_events (
                provider    VARCHAR NOT NULL,
                region      VARCHAR,
                zone        VARCHAR,
                spec        VARCHAR,
                instance_id VARCHAR NOT NULL,
                service     VARCHAR,
                is_spot     BOOLEAN,
                event       VARCHAR NOT NULL CHECK (event IN ('launched', 'ready',
                    'interruption_warning', 'rebalance_recommendation', 'reclaimed',
                    'terminated', 'rebuilt')),
                ts          TIMESTAMPTZ NOT NULL,
                detail      VARCHAR,
                source_id   INTEGER NOT NULL
            )
            """,
            # Instance inventory; key (provider, instance_id); provider NULL matches any.
            """
            CREATE TABLE instances (
                provider    VARCHAR,
                instance_id VARCHAR NOT NULL,
                region      VARCHAR,
                zone        VARCHAR,
                spec        VARCHAR NOT NULL,
                is_spot     BOOLEAN,
                service     VARCHAR,
                source_id   INTEGER NOT NULL
            )
            """,
            # Instance-hours run per cell and period, for logs that hold only interruptions;
            # key (provider, zone, spec, is_spot, service, period_start).
            """
            CREATE TABLE instance_exposure (
                provider       VARCHAR,
                region         VARCHAR,
                zone           VARCHAR,
                spec           VARCHAR NOT NULL,
                is_spot        BOOLEAN NOT NULL,
                service        VARCHAR,
                period_start   TIMESTAMPTZ,
                period_end     TIMESTAMPTZ,
                instance_hours DOUBLE NOT NULL CHECK (instance_hours >= 0),
                source_id      INTEGER NOT NULL
            )
            """,
            # Providers' interruption feeds; percentages are per instance-month (AWS: share
            # of instances reclaimed in the trailing month; Alibaba: average over 30 days).
            # zone NULL = the feed is per region. Key (provider, region, zone, spec, os,
            # observed_at).
            """
            CREATE TABLE interruption_bands (
                provider      VARCHAR NOT NULL,
                region        VARCHAR NOT NULL,
                zone          VARCHAR,
                spec          VARCHAR NOT NULL,
                os            VARCHAR,
                band_label    VARCHAR NOT NULL,
                band_low_pct  DOUBLE,
                band_high_pct DOUBLE,
                rate_pct      DOUBLE,
                savings_pct   DOUBLE,
                observed_at   TIMESTAMPTZ NOT NULL,
                source_id     INTEGER NOT NULL
            )
            """,
        ),
    ),
    Migration(
        3,
        "cold start: load_benchmarks",
        (
            # Measured model load times: ``size_gb`` in GB (10^9 bytes), ``path`` how the
            # model was loaded (``oss_mount``, ``cachefs_remote_hit``, ``sllm_random``...),
            # ``run`` the measurement number within (model, path, hardware); key (model,
            # path, hardware, run).
            """
            CREATE TABLE load_benchmarks (
                model        VARCHAR NOT NULL,
                size_gb      DOUBLE NOT NULL CHECK (size_gb > 0),
                path         VARCHAR NOT NULL,
                load_seconds DOUBLE NOT NULL CHECK (load_seconds > 0),
                hardware     VARCHAR NOT NULL,
                source_id    INTEGER NOT NULL,
                run          INTEGER NOT NULL CHECK (run >= 1),
                notes        VARCHAR
            )
            """,
        ),
    ),
    Migration(
        4,
        "fleet: spot_availability, traffic",
        (
            # Measured spot availability: how many spot instances of ``spec`` the zone gave
            # at ``ts`` (0/1 in single-node probes, 0..N in N-node ones). Key (provider,
            # zone, spec, ts); each row holds until the next row of its series.
            """
            CREATE TABLE spot_availability (
                provider  VARCHAR NOT NULL,
                zone      VARCHAR NOT NULL,
                spec      VARCHAR NOT NULL,
                ts        TIMESTAMPTZ NOT NULL,
                available INTEGER NOT NULL CHECK (available >= 0),
                source_id INTEGER NOT NULL
            )
            """,
            # Request rate of a service (queries per second, averaged over the sample's
            # interval); key (service, ts). Each row holds until the next one.
            """
            CREATE TABLE traffic (
                service   VARCHAR NOT NULL,
                ts        TIMESTAMPTZ NOT NULL,
                qps       DOUBLE NOT NULL CHECK (qps >= 0),
                source_id INTEGER NOT NULL
            )
            """,
        ),
    ),
    Migration(
        5,
        "fetch: spot_placement_scores, spec_stock",
        (
            # AWS Spot placement scores (GetSpotPlacementScores): how likely a request for
            # ``target_capacity`` instances of the types ``specs`` (sorted, comma-separated:
            # the score is for the set) succeeds, 1-10, in a region or, with a zone id, in
            # one zone. Key (provider, region, zone, specs, target_capacity, observed_at).
            """
            CREATE TABLE spot_placement_scores (
                provider        VARCHAR NOT NULL,
                region          VARCHAR NOT NULL,
                zone            VARCHAR,
                specs           VARCHAR NOT NULL,
                target_capacity INTEGER NOT NULL CHECK (target_capacity >= 1),
                score           INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),
                observed_at     TIMESTAMPTZ NOT NULL,
                source_id       INTEGER NOT NULL
            )
            """,
            # Stock of a spec as a provider reports it (EAS DescribeMachineSpec):
            # ``stock_status`` (WithStock, ClosedWithStock, NoStock), ``is_available``, and
            # the lowest spot discount a bid may use (a multiplier of the pay-as-you-go
            # price), with and without the 1-hour protection. Key (provider, region, spec,
            # observed_at).
            """
            CREATE TABLE spec_stock (
                provider          VARCHAR NOT NULL,
                region            VARCHAR NOT NULL,
                spec              VARCHAR NOT NULL,
                stock_status      VARCHAR,
                is_available      BOOLEAN,
                min_spot_discount DOUBLE,
                min_spot_discount_unprotected DOUBLE,
                observed_at       TIMESTAMPTZ NOT NULL,
                source_id         INTEGER NOT NULL
            )
            """,
        ),
    ),
    Migration(
        6,
        "undo and reason codes: sources.options, sources.rows_conflict, rejects.reason_code",
        (
            # ``options``: the reader options the file was loaded with (JSON, defaults left
            # out), part of what makes two ingests of the same bytes the same ingest.
            # ``rows_conflict``: rejects whose key was stored, or earlier in the file, with
            # another value (counted in ``rows_rejected`` too). DuckDB cannot add a CHECK or
            # a NOT NULL column to a table in one transaction, so the tables are rebuilt.
            """
            CREATE TABLE sources_v6 (
                source_id      INTEGER PRIMARY KEY,
                uri            VARCHAR NOT NULL,
                sha256         VARCHAR NOT NULL,
                format         VARCHAR NOT NULL,
                kind           VARCHAR NOT NULL,
                options        VARCHAR NOT NULL DEFAULT '{}',
                rows_read      BIGINT NOT NULL,
                rows_loaded    BIGINT NOT NULL,
                rows_duplicate BIGINT NOT NULL,
                rows_rejected  BIGINT NOT NULL,
                rows_conflict  BIGINT NOT NULL DEFAULT 0,
                ingested_at    TIMESTAMPTZ NOT NULL,
                naive_timestamps BIGINT NOT NULL DEFAULT 0,
                CHECK (rows_read = rows_loaded + rows_duplicate + rows_rejected),
                CHECK (rows_conflict >= 0 AND rows_conflict <= rows_rejected)
            )
            """,
            """
            INSERT INTO sources_v6 (source_id, uri, sha256, format, kind, rows_read,
                rows_loaded, rows_duplicate, rows_rejected, ingested_at, naive_timestamps)
            SELECT source_id, uri, sha256, format, kind, rows_read, rows_loaded,
                rows_duplicate, rows_rejected, ingested_at, naive_timestamps FROM sources
            """,
            "DROP TABLE sources",
            "ALTER TABLE sources_v6 RENAME TO sources",
            # ``reason_code``: a stable code per kind of reason (see
            # ``spotlab.ingest.reasons``); rows rejected before this migration are
            # 'unclassified' (``spotlab ingest --reload FILE`` records them again).
            """
            CREATE TABLE rejects_v6 (
                source_id   INTEGER NOT NULL,
                row_number  BIGINT NOT NULL,
                reason_code VARCHAR NOT NULL,
                reason      VARCHAR NOT NULL,
                raw         VARCHAR
            )
            """,
            """
            INSERT INTO rejects_v6 SELECT source_id, row_number, 'unclassified', reason, raw
            FROM rejects
            """,
            "DROP TABLE rejects",
            "ALTER TABLE rejects_v6 RENAME TO rejects",
        ),
    ),
    Migration(
        7,
        "spot_prices.catalog_filled: the prices derived from the specs catalog's on-demand",
        (
            # ``catalog_filled``: NULL when the row's on-demand price came with it (or no
            # catalog priced it); else the price column derived from the catalog's
            # on-demand price besides ``on_demand_price`` itself: 'spot_price' (discount ×
            # on-demand, e.g. EAS discount histories), 'discount' (spot ÷ on-demand) or
            # 'on_demand_price' (both given). A catalog price that changes later re-prices
            # these rows (``spotlab.ingest.targets.reprice_from_catalog``).
            "ALTER TABLE spot_prices ADD COLUMN catalog_filled VARCHAR",
            # rows loaded before: EAS discount histories never carry an on-demand price, so
            # their spot price came from the catalog when they have one
            """
            UPDATE spot_prices SET catalog_filled = 'spot_price'
            WHERE spot_price IS NOT NULL AND source_id IN
                (SELECT source_id FROM sources WHERE format = 'eas-spot-discount')
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
