from __future__ import annotations

import pytest

import spotlab as sl
from spotlab import schema


def test_fresh_store_has_every_migration(store: sl.Store) -> None:
    assert store.schema_version == schema.SCHEMA_VERSION
    for table in ("specs", "spot_prices", "sources", "rejects", "schema_migrations"):
        assert table in store.tables()


def test_migrations_are_recorded_once(tmp_path) -> None:
    path = tmp_path / "x.duckdb"
    with sl.Store(path):
        pass
    with sl.Store(path) as again:
        n = again.query("SELECT count(*) AS n FROM schema_migrations")["n"][0]
        assert n == len(schema.MIGRATIONS)


def test_default_path_from_env(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SPOTLAB_DB", str(tmp_path / "env.duckdb"))
    with sl.Store() as s:
        assert s.path == str(tmp_path / "env.duckdb")


def test_queries_return_polars_in_utc(store: sl.Store) -> None:
    df = store.query("SELECT TIMESTAMPTZ '2024-01-01 08:00:00+08' AS t")
    assert str(df.schema["t"]) == "Datetime(time_unit='us', time_zone='UTC')"
    assert df["t"][0].hour == 0


def test_read_only_missing_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(sl.StoreError, match="no spotlab database"):
        sl.Store(tmp_path / "missing.duckdb", read_only=True)


def test_transaction_rolls_back(store: sl.Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as con:
        con.execute("INSERT INTO rejects VALUES (1, 1, 'x', 'x', 'y')")
        raise RuntimeError("boom")
    assert store.query("SELECT count(*) AS n FROM rejects")["n"][0] == 0


def test_bad_sql_is_wrapped(store: sl.Store) -> None:
    with pytest.raises(sl.SpotlabError):
        store.query("SELECT * FROM no_such_table")
