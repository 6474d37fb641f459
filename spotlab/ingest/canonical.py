"""spotlab's canonical price files: CSV (optionally gzip) or Parquet.

Columns (names exactly; ``--map src=dst`` renames anything else first):

========================  =============================================================
``provider``              ``alibaba``, ``aws``, ``gcp``, ... (required)
``region``                optional; derived from ``zone`` when absent
``zone``                  zone id (required; GCP prices are per region: zone = region)
``spec``                  instance type (required)
``ts``                    change-point time, ISO 8601; no offset means UTC (required)
``spot_price``            price per hour, or
``discount``              spot ÷ on-demand (one of the two is required)
``on_demand_price``       optional; filled from the specs catalog when absent
``currency``              ISO 4217 code (or pass ``currency=``)
========================  =============================================================

Row numbers in rejects are the file's line numbers (the header is line 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from spotlab.errors import FormatError, did_you_mean, wrap_errors
from spotlab.ingest.core import Staged, read_head, register

COLUMNS = (
    "provider", "region", "zone", "spec", "ts", "spot_price", "discount", "on_demand_price",
    "currency",
)  # fmt: skip
#: DuckDB's CSV buffer in bytes (None: DuckDB's default). Tests shrink it so that a small
#: file is read in many parallel chunks, as a large one is.
CSV_BUFFER_SIZE: int | None = None


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_columns(scan: str, path: Path, what: str) -> list[str]:
    """The column names DuckDB reads from the file (its header, or the Parquet schema)."""
    with wrap_errors(f"reading a {what} file", path=path):
        con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        try:
            return [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
        finally:
            con.close()


def _relation(
    scan: str,
    row: str | None,
    columns: list[str],
    path: Path,
    mapping: Mapping[str, str] | None,
    currency: str | None,
) -> str:
    """A SELECT over ``scan`` giving ``_row`` (when ``row`` is given) and the canonical
    columns (renamed by ``mapping``; others dropped), for :attr:`Staged.relation`."""
    mapping = dict(mapping or {})
    unknown = [src for src in mapping if src not in columns]
    if unknown:
        hints = " ".join(did_you_mean(u, columns) for u in unknown)
        raise FormatError(
            f"--map names column(s) not in the file: {', '.join(unknown)}.{hints}",
            path=path,
            found=", ".join(columns),
        )
    picked: dict[str, str] = {}
    for col in columns:
        dst = mapping.get(col, col)
        if dst not in COLUMNS:
            continue
        if dst in picked:
            raise FormatError(
                f"two columns would both be {dst!r} ({picked[dst]!r} and {col!r}); "
                "map only one of them",
                path=path,
            )
        picked[dst] = col
    if "spot_price" not in picked and "discount" not in picked:
        renamed = [mapping.get(c, c) for c in columns]
        hint = did_you_mean("spot_price", renamed) or did_you_mean("discount", renamed)
        raise FormatError(
            f"neither a spot_price nor a discount column.{hint} Use --map SRC=spot_price "
            "to name yours",
            path=path,
            expected=", ".join(COLUMNS),
            found=", ".join(renamed),
        )
    items = {dst: _ident(src) for dst, src in picked.items()}
    if currency is not None:
        given = f"CAST({items['currency']} AS VARCHAR)" if "currency" in items else "NULL"
        items["currency"] = f"coalesce({given}, {_lit(currency)})"
    select = ", ".join(f"{expr} AS {_ident(dst)}" for dst, expr in items.items())
    numbered = f"{row} AS _row, " if row else ""
    return f"SELECT {numbered}{select} FROM {scan}"


class CanonicalCsv:
    name = "canonical-csv"
    sniff_rule = "any other .csv, .csv.gz or .csv.zst (the canonical price columns)"
    kind = "prices"
    priority = 90  # tried last: any CSV no other reader claims is read as canonical

    def sniff(self, path: Path, head: bytes) -> bool:
        name = path.name.lower()
        return name.endswith((".csv", ".csv.gz", ".csv.zst"))

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        currency: str | None = None,
        **_: Any,
    ) -> Staged:
        if not read_head(path).strip():
            raise FormatError("the file is empty", path=path, expected="a header and rows")
        # DuckDB reads (and decompresses) the file in parallel; every value as text, so a
        # bad value becomes a reject with its reason instead of failing the whole file.
        buffer = f", buffer_size = {int(CSV_BUFFER_SIZE)}" if CSV_BUFFER_SIZE else ""
        scan = (
            f"read_csv({_lit(str(path))}, all_varchar = true, header = true, delim = ',', "
            f"quote = '\"', escape = '\"'{buffer})"
        )
        columns = _file_columns(scan, path, "CSV")
        # no _row: rows are numbered by position (DuckDB keeps file order); line 1 is the
        # header, so the first row is line 2
        relation = _relation(scan, None, columns, path, map, currency)
        plain = not path.name.lower().endswith((".gz", ".zst"))
        return Staged(kind=self.kind, relation=relation, row_base=2, one_row_per_line=plain)


class CanonicalParquet:
    name = "canonical-parquet"
    sniff_rule = "a Parquet file (starts with PAR1)"
    kind = "prices"
    priority = 90

    def sniff(self, path: Path, head: bytes) -> bool:
        return head[:4] == b"PAR1"

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        currency: str | None = None,
        **_: Any,
    ) -> Staged:
        scan = f"read_parquet({_lit(str(path))})"
        columns = _file_columns(scan, path, "Parquet")
        # numbered by position, as the CSV rows are (read_parquet keeps the file's order)
        return Staged(
            kind=self.kind,
            relation=_relation(scan, None, columns, path, map, currency),
            row_base=1,
        )


register(CanonicalCsv())
register(CanonicalParquet())
