"""Airflow: run a panelsync sync after the models it reads are built, and fail the task when the run fails.

Triggers the sync through the panelsync HTTP API (docs/http-api.md), then waits for the run's end with
GET /api/v1/runs/{id}?wait=300, asking again while it is still queued or running. Needs `requests`.
Set PANELSYNC_URL (e.g. http://panelsync.internal:8080) and PANELSYNC_API_TOKEN (server.api_token)
in the worker's environment, or read them from an Airflow connection instead.
"""
import os

import pendulum
import requests
from airflow.decorators import dag, task
from airflow.exceptions import AirflowException

PANELSYNC_URL = os.environ.get("PANELSYNC_URL", "http://127.0.0.1:8080")
WAIT_SECONDS = 300  # the most GET /runs/{id}?wait= takes


@task(retries=0)
def panelsync_sync(sync: str) -> dict:
    """Triggers `sync`, waits for its run to end, and fails when the run is `failed`."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {os.environ['PANELSYNC_API_TOKEN']}"
    started = session.post(f"{PANELSYNC_URL}/api/v1/syncs/{sync}/trigger", timeout=30)
    started.raise_for_status()  # 404 SYNC_NOT_FOUND, 409 SYNC_ALREADY_RUNNING, 503 SHUTTING_DOWN
    run_id = started.json()["run_id"]
    run = {"status": "queued"}
    while run["status"] in ("queued", "running"):
        answer = session.get(f"{PANELSYNC_URL}/api/v1/runs/{run_id}", params={"wait": WAIT_SECONDS}, timeout=WAIT_SECONDS + 30)
        answer.raise_for_status()
        run = answer.json()
    if run["status"] == "failed":
        raise AirflowException(f"panelsync run {run_id} of {sync} failed: {run['error']}")
    return {"run_id": run_id, "status": run["status"], "summary": run["summary"]}


@dag(schedule="0 6 * * *", start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def panel_refresh():
    panelsync_sync("customers-to-panel")


panel_refresh()
