"""Load every CSV file in DATA_DIR into the warehouse: one file, one table.

``orders.csv`` becomes ``raw.orders``. The table is created on first load with column
types guessed from the data (bigint, numeric, date, else text), and every run replaces
its rows (TRUNCATE, then COPY) inside one transaction, so running this again on every
save is safe: readers see either the old rows or the new ones, never a mix.

Run it with ``python -m src.load`` (the image's entrypoint does). Configuration comes from
the environment: ``WAREHOUSE_DSN``, or ``WAREHOUSE_HOST``/``PORT``/``DB``/``USER``/
``PASSWORD``; ``DATA_DIR`` (default ``/data``); ``LOG_LEVEL`` (default ``INFO``).

Everything above ``main`` is pure (no database) and tested in tests/test_load.py;
psycopg is imported only when a connection is made.
"""

from __future__ import annotations

import csv
import datetime
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("pipeline.load")

# Tables land in this schema of the warehouse database.
SCHEMA = "raw"

# PostgreSQL truncates longer identifiers; do it ourselves so names are predictable.
MAX_IDENTIFIER = 63

Row = tuple[str | None, ...]


@dataclass(frozen=True)
class Table:
    """One CSV file, parsed: what to create and what to load."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[Row, ...]


# --- names -----------------------------------------------------------------------------


def normalize_identifier(name: str) -> str:
    """A lower-case SQL name made of letters, digits and underscores.

    "Order ID" -> "order_id", "2024 total" -> "_2024_total".
    """
    ident = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    if not ident:
        raise ValueError(f"cannot make a column or table name from {name!r}")
    if ident[0].isdigit():
        ident = "_" + ident
    return ident[:MAX_IDENTIFIER]


def quote_ident(ident: str) -> str:
    """Quote an identifier for PostgreSQL (double quotes, embedded quotes doubled)."""
    return '"' + ident.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def table_name_for(path: Path) -> str:
    """The table a CSV file loads into: its file name without the extension."""
    return normalize_identifier(path.stem)


# --- parsing ---------------------------------------------------------------------------


def parse_csv(lines: Iterable[str]) -> tuple[tuple[str, ...], tuple[Row, ...]]:
    """Header and rows of a CSV document. Empty fields become None (SQL NULL).

    Raises ValueError for a missing header, duplicate column names or a row whose
    length differs from the header's, naming the line.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ValueError("no header row")
    columns = tuple(normalize_identifier(h) for h in header)
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise ValueError(f"duplicate column names after normalising: {', '.join(duplicates)}")

    rows = []
    for fields in reader:
        if not fields:  # blank line
            continue
        if len(fields) != len(columns):
            raise ValueError(
                f"line {reader.line_num}: {len(fields)} fields, the header has {len(columns)}"
            )
        rows.append(tuple(f if f.strip() else None for f in fields))
    return columns, tuple(rows)


_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BIGINT_MAX = 2**63 - 1


def _has_leading_zero(value: str) -> bool:
    """00123 or 007.5: an identifier (a zip code, an account), not a number."""
    digits = value.lstrip("+-")
    return len(digits) > 1 and digits[0] == "0" and digits[1].isdigit()


def _is_bigint(value: str) -> bool:
    if not _INTEGER.fullmatch(value) or _has_leading_zero(value):
        return False
    return -_BIGINT_MAX - 1 <= int(value) <= _BIGINT_MAX


def _is_numeric(value: str) -> bool:
    return bool(_NUMBER.fullmatch(value)) and not _has_leading_zero(value)


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def infer_type(values: Iterable[str | None]) -> str:
    """The narrowest of bigint, numeric, date and text that holds every non-NULL value."""
    present = [v.strip() for v in values if v is not None]
    if not present:
        return "text"
    if all(_is_bigint(v) for v in present):
        return "bigint"
    if all(_is_numeric(v) for v in present):
        return "numeric"
    if all(_is_date(v) for v in present):
        return "date"
    return "text"


def build_table(name: str, lines: Iterable[str]) -> Table:
    columns, rows = parse_csv(lines)
    types = tuple(infer_type(row[i] for row in rows) for i in range(len(columns)))
    return Table(name=name, columns=columns, types=types, rows=rows)


# --- SQL -------------------------------------------------------------------------------


def create_schema_sql(schema: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}"


def create_table_sql(schema: str, table: Table) -> str:
    cols = ",\n    ".join(f"{quote_ident(c)} {t}" for c, t in zip(table.columns, table.types))
    return f"CREATE TABLE IF NOT EXISTS {qualified(schema, table.name)} (\n    {cols}\n)"


def truncate_sql(schema: str, table: Table) -> str:
    return f"TRUNCATE TABLE {qualified(schema, table.name)}"


def copy_sql(schema: str, table: Table) -> str:
    cols = ", ".join(quote_ident(c) for c in table.columns)
    return f"COPY {qualified(schema, table.name)} ({cols}) FROM STDIN"


COLUMNS_SQL = (
    "SELECT column_name FROM information_schema.columns"
    " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position"
)


def column_mismatch(expected: Sequence[str], existing: Sequence[str]) -> str | None:
    """Why an existing table cannot take this file's rows, or None if it can."""
    if list(expected) == list(existing):
        return None
    return (
        f"the table has columns ({', '.join(existing)}) but the file has ({', '.join(expected)});"
        " drop the table (or reset the database volume) to recreate it from the file"
    )


# --- configuration ---------------------------------------------------------------------

REQUIRED_PARTS = ("WAREHOUSE_HOST", "WAREHOUSE_PORT", "WAREHOUSE_DB", "WAREHOUSE_USER", "WAREHOUSE_PASSWORD")


def connection_params(env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """(conninfo, keyword arguments) for psycopg.connect, from WAREHOUSE_DSN or the parts."""
    dsn = env.get("WAREHOUSE_DSN", "").strip()
    if dsn:
        return dsn, {}
    missing = [k for k in REQUIRED_PARTS if not env.get(k, "").strip()]
    if missing:
        raise ValueError(
            "missing " + ", ".join(missing) + ": set them in .env (or set WAREHOUSE_DSN)"
        )
    return "", {
        "host": env["WAREHOUSE_HOST"],
        "port": env["WAREHOUSE_PORT"],
        "dbname": env["WAREHOUSE_DB"],
        "user": env["WAREHOUSE_USER"],
        "password": env["WAREHOUSE_PASSWORD"],
    }


def describe_target(env: Mapping[str, str]) -> str:
    """Where we load to, for the log: never includes a password."""
    if env.get("WAREHOUSE_DSN", "").strip():
        return "the database in WAREHOUSE_DSN"
    return "{user}@{host}:{port}/{db}".format(
        user=env.get("WAREHOUSE_USER", "?"),
        host=env.get("WAREHOUSE_HOST", "?"),
        port=env.get("WAREHOUSE_PORT", "?"),
        db=env.get("WAREHOUSE_DB", "?"),
    )


# --- the load --------------------------------------------------------------------------


def read_tables(data_dir: Path) -> list[Table]:
    tables = []
    for path in sorted(data_dir.glob("*.csv")):
        # utf-8-sig: files saved by spreadsheet programs often start with a BOM.
        with path.open(newline="", encoding="utf-8-sig") as f:
            try:
                tables.append(build_table(table_name_for(path), f))
            except ValueError as exc:
                raise ValueError(f"{path.name}: {exc}") from None
    names = [t.name for t in tables]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ValueError(f"several files load into the same table: {', '.join(clashes)}")
    return tables


def load(conn, schema: str, tables: Sequence[Table]) -> None:  # pragma: no cover - needs a database
    """Create and fill every table in one transaction: all files load, or none."""
    with conn.transaction():
        conn.execute(create_schema_sql(schema))
        for table in tables:
            conn.execute(create_table_sql(schema, table))
            existing = [r[0] for r in conn.execute(COLUMNS_SQL, (schema, table.name)).fetchall()]
            problem = column_mismatch(table.columns, existing)
            if problem:
                raise ValueError(f"{schema}.{table.name}: {problem}")
            conn.execute(truncate_sql(schema, table))
            with conn.cursor().copy(copy_sql(schema, table)) as copy:
                for row in table.rows:
                    copy.write_row(row)
            log.info("loaded %d rows into %s.%s", len(table.rows), schema, table.name)


def main(env: Mapping[str, str] | None = None) -> int:  # pragma: no cover - needs a database
    env = os.environ if env is None else env
    logging.basicConfig(
        level=env.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )
    data_dir = Path(env.get("DATA_DIR", "/data"))
    try:
        conninfo, params = connection_params(env)
        tables = read_tables(data_dir)
        if not tables:
            log.warning("no *.csv files in %s: nothing to load", data_dir)
            return 0
        log.info("loading %d file(s) from %s into %s", len(tables), data_dir, describe_target(env))

        import psycopg  # only here, so the pure functions above need nothing installed

        with psycopg.connect(
            conninfo, connect_timeout=10, application_name="devstack-pipeline", **params
        ) as conn:
            load(conn, SCHEMA, tables)
    except Exception as exc:  # one clear line instead of a traceback
        log.error("load failed: %s", exc)
        return 1
    log.info("done")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
