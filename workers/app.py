"""The one Celery app; its signal handlers connect when this module is imported.

The per-process context tasks use (settings, store, providers, runtime config) lives in
``workers.runtime`` and is re-exported here for the task modules.
"""

from __future__ import annotations

import signal

from celery import Celery
from celery.signals import worker_process_init, worker_ready

from wagehood.plugins.loader import configure as configure_plugins
from workers import heartbeats, logging_config, task_metrics
from workers.liveness import WorkerLiveness
from workers.runtime import breaker, context, provider, settings, store

__all__ = ["app", "breaker", "context", "provider", "settings", "store"]

app = Celery(
    "wagehood",
    include=["workers.tasks", "workers.exports", "workers.delivery", "workers.monitoring"],
)
app.config_from_object("celeryconfig")
app.steps["worker"].add(WorkerLiveness)


def _ignore_group_signals(**_: object) -> None:
    """Let only the parent decide when a pool process stops.

    honcho (and a terminal's Ctrl-C) signal the whole process group. A prefork child that died
    on that signal would abandon its task mid-way; ignoring it lets the parent's warm shutdown
    finish the running task and stop the child cleanly. A cold shutdown still kills children.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


worker_process_init.connect(_ignore_group_signals)


def _load_plugins(**_: object) -> None:
    # Plugins that fail to import or are refused are logged at start-up, not at the first task.
    configure_plugins(settings())


worker_ready.connect(_load_plugins, weak=False)
logging_config.connect()
task_metrics.connect()
heartbeats.connect()
