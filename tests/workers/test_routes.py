"""Every task that must stay off the pipeline's queue is routed to its own queue."""

from __future__ import annotations

import celeryconfig
from cli.procs import procfile_commands


def test_slow_tasks_are_routed_off_the_pipeline_queue() -> None:
    routes = celeryconfig.task_routes
    assert routes["wagehood.deliver_event"] == {"queue": "deliveries"}
    assert routes["wagehood.run_export"] == {"queue": "exports"}
    assert routes["wagehood.warm_symbol"] == {"queue": "warmup"}


def test_the_procfile_consumes_every_routed_queue_and_the_worker_not_the_io_ones() -> None:
    commands = procfile_commands()
    worker_queues = commands["worker"].split(" -Q ")[1].split()[0].split(",")
    io_queues = commands["io"].split(" -Q ")[1].split()[0].split(",")
    assert sorted(worker_queues) == ["celery", "warmup"]
    assert sorted(io_queues) == ["deliveries", "exports"]
    routed = {route["queue"] for route in celeryconfig.task_routes.values()}
    assert routed <= set(worker_queues) | set(io_queues)
