"""Tests of the loader's pure parts: no database, nothing to install.

Run from the pipeline directory:  python3 -m unittest
"""

import tempfile
import unittest
from pathlib import Path

from src import load


class NamesTest(unittest.TestCase):
    def test_normalize_identifier(self):
        self.assertEqual(load.normalize_identifier("Order ID"), "order_id")
        self.assertEqual(load.normalize_identifier("  amount (EUR) "), "amount_eur")
        self.assertEqual(load.normalize_identifier("2024 total"), "_2024_total")
        self.assertEqual(load.normalize_identifier("x" * 100), "x" * 63)

    def test_normalize_identifier_rejects_names_without_letters_or_digits(self):
        with self.assertRaises(ValueError):
            load.normalize_identifier(" -- ")

    def test_quote_ident_doubles_embedded_quotes(self):
        self.assertEqual(load.quote_ident("orders"), '"orders"')
        self.assertEqual(load.quote_ident('a"b'), '"a""b"')

    def test_table_name_for(self):
        self.assertEqual(load.table_name_for(Path("/data/Orders 2024.csv")), "orders_2024")


class ParseCsvTest(unittest.TestCase):
    def test_header_and_rows_with_empty_fields_as_null(self):
        columns, rows = load.parse_csv(["Id,Name,Note\n", "1,Ada,\n", "2,\"Grace, H\",x\n"])
        self.assertEqual(columns, ("id", "name", "note"))
        self.assertEqual(rows, (("1", "Ada", None), ("2", "Grace, H", "x")))

    def test_blank_lines_are_skipped(self):
        _, rows = load.parse_csv(["a,b\n", "\n", "1,2\n", "\n"])
        self.assertEqual(rows, (("1", "2"),))

    def test_missing_header(self):
        with self.assertRaisesRegex(ValueError, "no header"):
            load.parse_csv([])

    def test_duplicate_columns_after_normalising(self):
        with self.assertRaisesRegex(ValueError, "duplicate column names.*order_id"):
            load.parse_csv(["Order ID,order_id\n"])

    def test_ragged_row_names_the_line(self):
        with self.assertRaisesRegex(ValueError, "line 3: 1 fields, the header has 2"):
            load.parse_csv(["a,b\n", "1,2\n", "3\n"])


class InferTypeTest(unittest.TestCase):
    def test_types(self):
        self.assertEqual(load.infer_type(["1", "-2", None, "+30"]), "bigint")
        self.assertEqual(load.infer_type(["1", "2.50", "-0.5", "1e3"]), "numeric")
        self.assertEqual(load.infer_type(["2024-01-31", None]), "date")
        self.assertEqual(load.infer_type(["1", "two"]), "text")

    def test_all_null_or_empty_column_is_text(self):
        self.assertEqual(load.infer_type([None, None]), "text")
        self.assertEqual(load.infer_type([]), "text")

    def test_leading_zeros_stay_text(self):
        self.assertEqual(load.infer_type(["02134", "10001"]), "text")
        self.assertEqual(load.infer_type(["007.5"]), "text")
        self.assertEqual(load.infer_type(["0", "0.25"]), "numeric")

    def test_integers_beyond_bigint_are_numeric(self):
        self.assertEqual(load.infer_type([str(2**63)]), "numeric")
        self.assertEqual(load.infer_type([str(2**63 - 1)]), "bigint")

    def test_impossible_dates_are_text(self):
        self.assertEqual(load.infer_type(["2024-02-30"]), "text")


class SqlTest(unittest.TestCase):
    table = load.Table(
        name="orders",
        columns=("order_id", "amount"),
        types=("bigint", "numeric"),
        rows=(("1", "9.99"),),
    )

    def test_create_table(self):
        self.assertEqual(
            load.create_table_sql("raw", self.table),
            'CREATE TABLE IF NOT EXISTS "raw"."orders" (\n'
            '    "order_id" bigint,\n'
            '    "amount" numeric\n'
            ")",
        )

    def test_truncate_and_copy(self):
        self.assertEqual(load.truncate_sql("raw", self.table), 'TRUNCATE TABLE "raw"."orders"')
        self.assertEqual(
            load.copy_sql("raw", self.table),
            'COPY "raw"."orders" ("order_id", "amount") FROM STDIN',
        )

    def test_create_schema(self):
        self.assertEqual(load.create_schema_sql("raw"), 'CREATE SCHEMA IF NOT EXISTS "raw"')

    def test_column_mismatch(self):
        self.assertIsNone(load.column_mismatch(["a", "b"], ["a", "b"]))
        self.assertIn("drop the table", load.column_mismatch(["a", "b"], ["a"]))

    def test_build_table(self):
        table = load.build_table("orders", ["id,when,total\n", "1,2024-01-02,3.5\n"])
        self.assertEqual(table.types, ("bigint", "date", "numeric"))


class ConfigTest(unittest.TestCase):
    parts = {
        "WAREHOUSE_HOST": "postgres",
        "WAREHOUSE_PORT": "5432",
        "WAREHOUSE_DB": "warehouse",
        "WAREHOUSE_USER": "loader",
        "WAREHOUSE_PASSWORD": "s3cret",
    }

    def test_parts(self):
        conninfo, params = load.connection_params(self.parts)
        self.assertEqual(conninfo, "")
        self.assertEqual(params["dbname"], "warehouse")
        self.assertEqual(params["password"], "s3cret")

    def test_dsn_wins(self):
        self.assertEqual(load.connection_params({"WAREHOUSE_DSN": "postgresql://x"}), ("postgresql://x", {}))

    def test_missing_parts_are_named(self):
        env = dict(self.parts, WAREHOUSE_PASSWORD="", WAREHOUSE_HOST="  ")
        with self.assertRaisesRegex(ValueError, "missing WAREHOUSE_HOST, WAREHOUSE_PASSWORD"):
            load.connection_params(env)

    def test_describe_target_never_shows_the_password(self):
        text = load.describe_target(self.parts)
        self.assertEqual(text, "loader@postgres:5432/warehouse")
        self.assertNotIn("s3cret", text)
        self.assertNotIn("secret", load.describe_target({"WAREHOUSE_DSN": "postgresql://u:secret@h/d"}))


class ReadTablesTest(unittest.TestCase):
    def test_reads_every_csv_in_order_and_ignores_other_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            (d / "b.csv").write_text("x\n1\n", encoding="utf-8")
            (d / "a.csv").write_bytes("\ufeffName\nAda\n".encode("utf-8"))  # with a BOM
            (d / "notes.txt").write_text("not data", encoding="utf-8")
            tables = load.read_tables(d)
        self.assertEqual([t.name for t in tables], ["a", "b"])
        self.assertEqual(tables[0].columns, ("name",))

    def test_errors_name_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "bad.csv").write_text("a,b\n1\n", encoding="utf-8")
            with self.assertRaisesRegex(ValueError, "bad.csv: line 2"):
                load.read_tables(Path(tmp))

    def test_two_files_for_one_table(self):
        with tempfile.TemporaryDirectory() as tmp:
            # Names that differ in more than case, for case-insensitive file systems.
            (Path(tmp) / "daily-orders.csv").write_text("a\n1\n", encoding="utf-8")
            (Path(tmp) / "daily_orders.csv").write_text("a\n1\n", encoding="utf-8")
            with self.assertRaisesRegex(ValueError, "same table: daily_orders"):
                load.read_tables(Path(tmp))

    def test_the_sample_data_parses(self):
        sample = Path(__file__).resolve().parents[2] / "data" / "orders.csv"
        if not sample.exists():
            self.skipTest("no ../data/orders.csv next to the pipeline")
        (table,) = [t for t in load.read_tables(sample.parent) if t.name == "orders"]
        self.assertGreater(len(table.rows), 0)
        self.assertEqual(dict(zip(table.columns, table.types))["amount"], "numeric")


if __name__ == "__main__":
    unittest.main()
