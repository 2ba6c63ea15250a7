"""Example DAG: a daily summary of the orders the pipeline loaded into the warehouse.

It reads ``raw.orders`` (filled from data/orders.csv by the pipeline service) through the
Airflow connection ``warehouse``. That connection is not stored in Airflow's database: the
stack defines it in the environment as AIRFLOW_CONN_WAREHOUSE, from the values in .env.

This folder is mounted live: save this file and the change shows in the UI within seconds.
New DAGs start paused; unpause this one in the UI, or trigger a run by hand.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow.sdk import dag, task

WAREHOUSE_CONN_ID = "warehouse"


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "warehouse"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
)
def example_etl():
    @task
    def extract() -> list[dict]:
        """Orders and revenue per status, straight from the warehouse."""
        # Imported here, not at the top: the DAG processor parses this file often.
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        hook = PostgresHook(postgres_conn_id=WAREHOUSE_CONN_ID)
        rows = hook.get_records(
            """
            SELECT status, count(*) AS orders, coalesce(sum(amount), 0) AS revenue
            FROM raw.orders
            GROUP BY status
            ORDER BY status
            """
        )
        # Plain types only: task results are stored as JSON.
        return [{"status": s, "orders": int(n), "revenue": str(r)} for s, n, r in rows]

    @task
    def report(summary: list[dict]) -> None:
        if not summary:
            print("raw.orders is empty: has the pipeline service run?")
            return
        for line in summary:
            print(f"{line['status']:>10}: {line['orders']:4d} orders, {line['revenue']:>10} revenue")

    report(extract())


example_etl()
