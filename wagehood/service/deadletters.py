"""Dead letters: messages that failed for good are recorded, never retried forever."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from wagehood.errors import TemporaryError
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors

logger = logging.getLogger(__name__)

MAXLEN = 10_000
ARGS_LIMIT = 2_000


def record(
    store: RedisStore, task: str, task_id: str, call: tuple[Any, Any], error: BaseException
) -> None:
    """Append a dead-letter entry (task, id, truncated arguments, error)."""
    entry = {
        "task": task,
        "task_id": task_id,
        "args": json.dumps(list(call), default=str)[:ARGS_LIMIT],
        "error": f"{type(error).__name__}: {error}"[:ARGS_LIMIT],
        "time": repr(time.time()),
    }
    logger.error("dead letter: %s %s failed for good: %s", task, task_id, entry["error"])
    try:
        with translate_errors():
            store.client.xadd(keys.DEAD_LETTERS, entry, maxlen=MAXLEN, approximate=True)
    except TemporaryError:
        logger.exception("could not record dead letter for %s", task_id)


def recent(store: RedisStore, count: int = 50) -> list[dict[str, str]]:
    """Return the most recent dead letters, newest first."""
    with translate_errors():
        entries = store.client.xrevrange(keys.DEAD_LETTERS, count=count)
    return [{"id": entry_id, **fields} for entry_id, fields in entries]


def total(store: RedisStore) -> int:
    """Return how many dead letters are stored."""
    with translate_errors():
        return int(store.client.xlen(keys.DEAD_LETTERS))
