"""Fixtures for tests that run real Celery workers (subprocesses) on the test Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from cli.redis_server import LocalRedis
from tests.processes import Proc, celery_worker, wait_worker_ready


@pytest.fixture
def producer(redis_server: LocalRedis) -> Iterator[Celery]:
    """A Celery client app that sends tasks, by name, to the test broker."""
    app = Celery("test-producer", broker=redis_server.url)
    app.conf.update(task_serializer="json", accept_content=["json"], task_ignore_result=True)
    yield app
    app.close()


@pytest.fixture
def start_worker(process_env: dict[str, str], tmp_path: Path, redis) -> Iterator:
    """Start real ``celery worker`` processes; all are stopped after the test."""
    started: list[Proc] = []

    def start(concurrency: int = 1, **env: str) -> Proc:
        log = tmp_path / f"worker-{len(started)}.log"
        proc = celery_worker({**process_env, **env}, log, concurrency=concurrency)
        started.append(proc)
        wait_worker_ready(redis, proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
