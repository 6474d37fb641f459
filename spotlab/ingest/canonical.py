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

Options: ``map`` (``--map SRC=DST``), ``currency`` and ``provider`` (fill the column where a
row leaves it empty, or stand for it when the file has none), and the price target's
``max_spot_over_on_demand``. Other columns of the file are not read: the result's notes
name them ("ignored columns"), so a column that distinguishes rows (a product, an OS) is
never dropped unseen; rows that differ only in such a column meet at the same key and are
conflicts, not duplicates.

Row numbers in rejects are the file's line numbers (the header is line 1). A row with
fewer fields than the header (a truncated last line) is a reject; a row with more fails
the file, naming its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb

from spotlab.errors import FormatError, did_you_mean, wrap_errors
from spotlab.ingest._common import field_counts, header_fields, read_bytes
from spotlab.ingest.core import Staged, read_head, register
from spotlab.ingest.options import MAP, Option
from spotlab.ingest.reasons import reason_sql

COLUMNS = (
    "provider", "region", "zone", "spec", "ts", "spot_price", "discount", "on_demand_price",
    "currency",
)  # fmt: skip
OPTIONS = (
    MAP,
    Option("currency", "currency", "the currency of rows that give none (ISO 4217)"),
    Option("provider", "text", "the provider of rows that give none (aws, alibaba, gcp...)",
           lower=True),
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


def _bad_line(path: Path, width: int) -> FormatError | None:
    """The first line with more fields than the header, as an error naming it (None when
    every line fits): what DuckDB's sniffer cannot say."""
    counts = field_counts(read_bytes(path), ",", universal=True)
    for i, n in enumerate(counts[1:], start=2):
        if n > width:
            return FormatError(
                f"line {i} has {n} fields, the header has {width}: quote a value that holds "
                "a comma, or fix the line",
                path=path,
                row=i,
            )
    return None


def _relation(
    scan: str,
    row: str | None,
    columns: list[str],
    path: Path,
    mapping: Mapping[str, str] | None,
    currency: str | None,
    provider: str | None = None,
    truncated: str | None = None,
) -> tuple[str, list[str]]:
    """A SELECT over ``scan`` giving ``_row`` (when ``row`` is given) and the canonical
    columns (renamed by ``mapping``), for :attr:`Staged.relation`, and the file's columns
    it does not read. ``truncated``: the file's last column, NULL in a row cut short (the
    scan pads short rows): such rows get a ``_reject``."""
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
    ignored: list[str] = []
    for col in columns:
        dst = mapping.get(col, col)
        if dst not in COLUMNS:
            ignored.append(col)
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
    for col, value in (("currency", currency), ("provider", provider)):
        if value is not None:
            given = f"nullif(trim(CAST({items[col]} AS VARCHAR)), '')" if col in items else "NULL"
            items[col] = f"coalesce({given}, {_lit(value)})"
    select = ", ".join(f"{expr} AS {_ident(dst)}" for dst, expr in items.items())
    if truncated is not None:
        msg = reason_sql(
            "row_truncated",
            f"'the row has fewer fields than the header ({len(columns)}): is the line cut short?'",
        )
        select += f", CASE WHEN {_ident(truncated)} IS NULL THEN {msg} END AS _reject"
    numbered = f"{row} AS _row, " if row else ""
    return f"SELECT {numbered}{select} FROM {scan}", ignored


def _ignored_note(ignored: list[str]) -> list[str]:
    if not ignored:
        return []
    return [
        f"ignored columns (not canonical price columns): {', '.join(ignored)}. Rows that "
        "differ only there meet at the same key (a conflict, or a duplicate when the price "
        "agrees): rename one with --map SRC=DST to use it, or split the file"
    ]


class CanonicalCsv:
    name = "canonical-csv"
    sniff_rule = "any other .csv, .csv.gz or .csv.zst (the canonical price columns)"
    kind = "prices"
    priority = 90  # tried last: any CSV no other reader claims is read as canonical
    options = OPTIONS

    def sniff(self, path: Path, head: bytes) -> bool:
        name = path.name.lower()
        return name.endswith((".csv", ".csv.gz", ".csv.zst"))

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        currency: str | None = None,
        provider: str | None = None,
    ) -> Staged:
        head = read_head(path)
        if not head.strip():
            raise FormatError("the file is empty", path=path, expected="a header and rows")
        header = header_fields(head, path)
        # DuckDB reads (and decompresses) the file in parallel; every value as text, so a
        # bad value becomes a reject with its reason instead of failing the whole file.
        # Short rows are padded with NULL, and an empty field reads as '' (nullstr is a
        # byte no CSV holds), so a padded field tells a row cut short.
        buffer = f", buffer_size = {int(CSV_BUFFER_SIZE)}" if CSV_BUFFER_SIZE else ""
        scan = (
            f"read_csv({_lit(str(path))}, all_varchar = true, header = true, delim = ',', "
            f"quote = '\"', escape = '\"', null_padding = true, nullstr = '\x01'{buffer})"
        )
        try:
            columns = _file_columns(scan, path, "CSV")
        except FormatError as exc:
            bad = _bad_line(path, len(header))
            if bad is None:
                raise
            raise bad from exc
        if len(columns) > len(header):  # a longer row among the sniffer's sample
            bad = _bad_line(path, len(header))
            if bad is not None:
                raise bad
        # no _row: rows are numbered by position (DuckDB keeps file order); line 1 is the
        # header, so the first row is line 2
        relation, ignored = _relation(
            scan, None, columns, path, map, currency, provider, truncated=columns[-1]
        )
        plain = not path.name.lower().endswith((".gz", ".zst"))
        return Staged(
            kind=self.kind, relation=relation, row_base=2, one_row_per_line=plain,
            notes=_ignored_note(ignored),
        )  # fmt: skip


class CanonicalParquet:
    name = "canonical-parquet"
    sniff_rule = "a Parquet file (starts with PAR1)"
    kind = "prices"
    priority = 90
    options = OPTIONS

    def sniff(self, path: Path, head: bytes) -> bool:
        return head[:4] == b"PAR1"

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        currency: str | None = None,
        provider: str | None = None,
    ) -> Staged:
        scan = f"read_parquet({_lit(str(path))})"
        columns = _file_columns(scan, path, "Parquet")
        # numbered by position, as the CSV rows are (read_parquet keeps the file's order)
        relation, ignored = _relation(scan, None, columns, path, map, currency, provider)
        return Staged(kind=self.kind, relation=relation, row_base=1, notes=_ignored_note(ignored))


register(CanonicalCsv())
register(CanonicalParquet())
