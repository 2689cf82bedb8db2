"""Dagster: an op that runs a panelsync sync and fails when its run fails.

Triggers the sync through the panelsync HTTP API (docs/http-api.md), then waits for the run's end with
GET /api/v1/runs/{id}?wait=300, asking again while it is still queued or running. Needs `requests`.
Set PANELSYNC_URL (e.g. http://panelsync.internal:8080) and PANELSYNC_API_TOKEN (server.api_token).
"""
import os

import requests
from dagster import Config, Failure, MetadataValue, OpExecutionContext, job, op

WAIT_SECONDS = 300  # the most GET /runs/{id}?wait= takes


class PanelsyncSyncConfig(Config):
    sync: str = "customers-to-panel"
    url: str = os.environ.get("PANELSYNC_URL", "http://127.0.0.1:8080")


@op
def panelsync_sync(context: OpExecutionContext, config: PanelsyncSyncConfig) -> str:
    """Triggers the sync, waits for its run to end, and raises Failure when the run is `failed`."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {os.environ['PANELSYNC_API_TOKEN']}"
    started = session.post(f"{config.url}/api/v1/syncs/{config.sync}/trigger", timeout=30)
    started.raise_for_status()  # 404 SYNC_NOT_FOUND, 409 SYNC_ALREADY_RUNNING, 503 SHUTTING_DOWN
    run_id = started.json()["run_id"]
    context.log.info(f"panelsync run {run_id} of {config.sync} started")
    run = {"status": "queued"}
    while run["status"] in ("queued", "running"):
        answer = session.get(f"{config.url}/api/v1/runs/{run_id}", params={"wait": WAIT_SECONDS}, timeout=WAIT_SECONDS + 30)
        answer.raise_for_status()
        run = answer.json()
    if run["status"] == "failed":
        raise Failure(
            description=f"panelsync run {run_id} of {config.sync} failed: {run['error']}",
            metadata={"run_url": MetadataValue.url(f"{config.url}/runs/{run_id}")},
        )
    context.log.info(f"panelsync run {run_id} ended {run['status']}")
    return run_id


@job
def panel_refresh():
    panelsync_sync()
