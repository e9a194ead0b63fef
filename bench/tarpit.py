"""A webhook receiver that never answers, and a flood of events for it (tests and benches).

``Tarpit`` accepts every TCP connection on loopback and holds it without a byte of reply, so
each delivery to it waits its whole ``WEBHOOK_TIMEOUT``: the slowest receiver there is.
``flood_outbox`` queues alert events in the outbox and asks a worker to fan them out.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

from wagehood.service import alert_rules
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

MAX_HELD = 2000


class Tarpit:
    """A loopback TCP server that accepts connections (at most ``MAX_HELD``) and never answers."""

    def __init__(self) -> None:
        """Listen on a free loopback port and start accepting."""
        self.server = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set() and len(self.held) < MAX_HELD:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.held.append(conn)

    def close(self) -> None:
        """Stop accepting and close every held connection."""
        self.stopped.set()
        self.thread.join(5)
        for conn in [*self.held, self.server]:
            conn.close()

    def __enter__(self) -> Tarpit:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def flood_outbox(store: RedisStore, broker_url: str, count: int, symbol: str) -> None:
    """Queue ``count`` alert events of ``symbol`` and send one ``wagehood.drain_outbox``."""
    from celery import Celery  # noqa: PLC0415 - only the process benches and tests need it

    for n in range(count):
        record = {"id": f"{symbol}:1m:{n}:alert:dip", "symbol": symbol, "timeframe": "1m",
                  "timestamp": "2024-06-01T00:00:00Z", "time": 1_717_200_000 + n * 60,
                  "strategy": "alert:dip", "signal_type": "ALERT", "side": "alert",
                  "confidence": 1.0, "price": 187.0, "reason": "rsi_14 < 30",
                  "values": {"rsi_14": 28.0}, "rule": "dip"}  # fmt: skip
        event = alert_rules.build_event(record, "alert", time.time())
        store.client.hset(keys.OUTBOX, event["event_id"], json.dumps(event))
    producer = Celery("flood", broker=broker_url)
    producer.conf.update(task_serializer="json", accept_content=["json"])
    producer.send_task("wagehood.drain_outbox")
    producer.close()
