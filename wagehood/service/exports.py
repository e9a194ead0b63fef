"""Exports: a request is recorded, a worker writes the file, the API streams it back.

The content is built from the very read models the endpoints serve (``queries``), so an export
holds exactly what ``historical`` (bars, all pages), ``historical``'s indicator columns
(indicators) and ``signals`` return for the same symbols, timeframe and range. Finished files
are kept in Redis for ``FILE_TTL`` seconds, status records for ``RECORD_TTL`` seconds and at
most ``MAX_RECORDS`` of them (the oldest go first), so exports cannot fill Redis.

An export belongs to the key that asked for it: only that key (or an admin) sees or downloads
it. ``ExportLimits`` cap the rows and bytes of one export and what one key exports per
``QUOTA_WINDOW``; an export over a cap fails with a message saying which. CSV cells that a
spreadsheet would run as a formula are neutralised (``_cell``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from wagehood.errors import (
    ConflictError,
    DataError,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from wagehood.service import queries
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors
from wagehood.types import Timeframe, validate_symbol

logger = logging.getLogger(__name__)

WHATS = ("bars", "indicators", "signals")
FORMATS = ("json", "csv")
MAX_SYMBOLS = 20
FILE_TTL = 24 * 3600
RECORD_TTL = 7 * 24 * 3600
MAX_RECORDS = 10_000
QUOTA_WINDOW = 24 * 3600  # a key's export quota counts what it exported in this window
CHUNK = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SIGNAL_COLUMNS = (
    "id", "symbol", "timeframe", "timestamp", "time", "strategy", "signal_type", "side",
    "confidence", "price", "reason",
)  # fmt: skip


@dataclass(frozen=True)
class ExportRequest:
    """What to export: symbols, timeframe, what (bars|indicators|signals), format, range."""

    symbols: tuple[str, ...]
    timeframe: str = "1m"
    what: str = "bars"
    format: str = "json"
    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        symbols = tuple(dict.fromkeys(validate_symbol(s) for s in self.symbols))
        if not symbols or len(symbols) > MAX_SYMBOLS:
            raise ValidationError(f"give 1 to {MAX_SYMBOLS} symbols", "symbols")
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "timeframe", Timeframe.parse(self.timeframe).value)
        _choose(self.what, WHATS, "what")
        _choose(self.format, FORMATS, "format")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValidationError("start must not be after end", "start")


@dataclass(frozen=True)
class ExportLimits:
    """Caps on one export (rows, bytes) and on one key's exports per ``QUOTA_WINDOW``."""

    max_rows: int = Settings.export_max_rows
    max_bytes: int = Settings.export_max_bytes
    key_rows: int = Settings.export_key_rows
    key_bytes: int = Settings.export_key_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportLimits:
        """Return the limits configured in ``settings``."""
        return cls(
            settings.export_max_rows,
            settings.export_max_bytes,
            settings.export_key_rows,
            settings.export_key_bytes,
        )


def _choose(value: str, choices: Sequence[str], field: str) -> None:
    if value not in choices:
        raise ValidationError(f"{field} must be one of {', '.join(choices)}", field)


def create(
    store: RedisStore,
    request: ExportRequest,
    owner: str,
    limits: ExportLimits | None = None,
) -> dict[str, Any]:
    """Record a pending export for key ``owner`` and return its status.

    Raises:
        NotFoundError: a symbol has no state.
        QuotaExceededError: ``owner`` already exported its quota in this window.
    """
    limits = limits or ExportLimits()
    _require_quota_left(store, owner, limits)
    for symbol in request.symbols:
        queries.require_state(store, symbol)
    now = time.time()
    record = {
        "id": secrets.token_hex(12),
        "status": "pending",
        "created_at": now,
        "finished_at": None,
        "rows": None,
        "size": None,
        "error": None,
        "request": asdict(request),
        "owner": owner,
        "limits": asdict(limits),
    }
    _save(store, record)
    return record


def status(store: RedisStore, export_id: str, owner: str | None = None) -> dict[str, Any]:
    """Return an export's status record or raise ``NotFoundError``.

    With ``owner``, an export another key created is not found either (``None``: any export,
    as for an admin or the worker).
    """
    with translate_errors():
        raw = store.client.hget(keys.EXPORTS, export_id) if len(export_id) <= 64 else None
    record: dict[str, Any] | None = json.loads(raw) if raw is not None else None
    if record is None or (owner is not None and record.get("owner") != owner):
        raise NotFoundError(f"no export with id {export_id!r}")
    return record


def _require_quota_left(store: RedisStore, owner: str, limits: ExportLimits) -> None:
    usage = keys.export_usage(owner)
    with translate_errors():
        rows, size, ttl = (
            store.client.pipeline(transaction=False)
            .hget(usage, "rows")
            .hget(usage, "bytes")
            .ttl(usage)
            .execute()
        )
    if int(rows or 0) >= limits.key_rows or int(size or 0) >= limits.key_bytes:
        raise QuotaExceededError(
            f"this key exported its quota ({limits.key_rows} rows, {limits.key_bytes} bytes "
            f"per {QUOTA_WINDOW // 3600} h)",
            retry_after=max(int(ttl), 1),
        )


def _charge(
    store: RedisStore, owner: str | None, rows: int, size: int, limits: ExportLimits
) -> None:
    # Count the export against its key's quota, or refuse it (and take the count back).
    if owner is None:
        return
    usage = keys.export_usage(owner)
    with translate_errors():
        pipe = store.client.pipeline(transaction=True)
        pipe.hincrby(usage, "rows", rows).hincrby(usage, "bytes", size)
        pipe.expire(usage, QUOTA_WINDOW, nx=True)
        total_rows, total_size, _ = pipe.execute()
        if total_rows > limits.key_rows or total_size > limits.key_bytes:
            store.client.pipeline(transaction=True).hincrby(usage, "rows", -rows).hincrby(
                usage, "bytes", -size
            ).execute()
            raise DataError(
                f"this export ({rows} rows, {size} bytes) would exceed the key's quota of "
                f"{limits.key_rows} rows and {limits.key_bytes} bytes per "
                f"{QUOTA_WINDOW // 3600} h"
            )


def mark_failed(store: RedisStore, export_id: str, message: str) -> None:
    """Record that an export could not be run (e.g. the broker refused it)."""
    record = status(store, export_id)
    _save(store, record | {"status": "failed", "error": message, "finished_at": time.time()})


def run(store: RedisStore, export_id: str) -> dict[str, Any]:
    """Build an export's file and store it; return the final status record.

    A data problem (e.g. the request became invalid) marks the export failed; a temporary
    error propagates so the task is retried.
    """
    record = status(store, export_id)
    if record["status"] == "done":
        return record
    _save(store, record | {"status": "running"})
    limits = ExportLimits(**record.get("limits", {}))
    try:
        request = ExportRequest(
            **{**record["request"], "symbols": tuple(record["request"]["symbols"])}
        )
        text, rows = build(store, request, limits.max_rows)
        size = len(text.encode())
        if size > limits.max_bytes:
            raise DataError(
                f"the export is {size} bytes, over the limit of {limits.max_bytes}: "
                "ask for fewer symbols or a shorter range"
            )
        _charge(store, record.get("owner"), rows, size, limits)
    except DataError as error:
        final = record | {"status": "failed", "error": str(error), "finished_at": time.time()}
        _save(store, final)
        return final
    with translate_errors():
        store.client.set(keys.export_file(export_id), text, ex=FILE_TTL)
    final = record | {
        "status": "done",
        "rows": rows,
        "size": size,
        "finished_at": time.time(),
    }
    _save(store, final)
    logger.info("export %s done: %d rows", export_id, rows)
    return final


def content(
    store: RedisStore, export_id: str, owner: str | None = None
) -> tuple[dict[str, Any], Iterator[str]]:
    """Return a finished export's status and an iterator over its content in chunks.

    ``owner`` as for ``status``: another key's export is not found.
    """
    record = status(store, export_id, owner)
    if record["status"] != "done":
        raise ConflictError(f"export {export_id} is {record['status']}, not done")
    with translate_errors():
        if not store.client.exists(keys.export_file(export_id)):
            raise NotFoundError(f"the file of export {export_id} has expired")
    return record, _chunks(store, keys.export_file(export_id), int(record["size"]))


def _chunks(store: RedisStore, key: str, size: int) -> Iterator[str]:
    data = b""
    for offset in range(0, size, CHUNK):
        with translate_errors():
            piece = store.client.getrange(key, offset, offset + CHUNK - 1)
        data += piece.encode() if isinstance(piece, str) else piece
        text = data.decode("utf-8", errors="ignore")
        data = data[len(text.encode()) :]
        yield text


def build(
    store: RedisStore, request: ExportRequest, max_rows: int | None = None
) -> tuple[str, int]:
    """Return the export's text and its number of rows.

    Raises:
        DataError: the export has more than ``max_rows`` rows (checked before the text is
            made).
    """
    results = [_result(store, request, symbol) for symbol in request.symbols]
    rows = sum(len(result[request.what]) for result in results)
    if max_rows is not None and rows > max_rows:
        raise DataError(
            f"the export has {rows} rows, over the limit of {max_rows}: "
            "ask for fewer symbols or a shorter range"
        )
    if request.format == "json":
        body = {**asdict(request), "symbols": list(request.symbols), "results": results}
        return json.dumps(body, separators=(",", ":")), rows
    return _csv(request, results), rows


def _result(store: RedisStore, request: ExportRequest, symbol: str) -> dict[str, Any]:
    timeframe = Timeframe(request.timeframe)
    if request.what == "signals":
        return queries.signals(
            store, symbol, timeframe, since=request.start, until=request.end, limit=None
        )
    bars = all_bars(store, symbol, timeframe, request.start, request.end)
    if request.what == "bars":
        return {"symbol": symbol, "timeframe": timeframe.value, "count": len(bars), "bars": bars}
    indicators = [{"time": b["time"], "epoch": b["epoch"], **b["indicators"]} for b in bars]
    return {"symbol": symbol, "timeframe": timeframe.value, "indicators": indicators}


def all_bars(
    store: RedisStore, symbol: str, timeframe: Timeframe, start: int | None, end: int | None
) -> list[dict[str, Any]]:
    """Return every page of ``queries.historical`` for the range, concatenated."""
    bars: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = queries.historical(
            store, symbol, timeframe, start=start, end=end, limit=queries.MAX_LIMIT, cursor=cursor
        )
        bars += page["bars"]
        cursor = page["next_cursor"]
        if cursor is None:
            return bars


def _csv(request: ExportRequest, results: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; a CR in a cell is quoted
    if request.what == "signals":
        writer.writerow(SIGNAL_COLUMNS)
        for result in results:
            writer.writerows([[_cell(s.get(c)) for c in SIGNAL_COLUMNS] for s in result["signals"]])
        return out.getvalue()
    key = "bars" if request.what == "bars" else "indicators"
    rows = [row for result in results for row in _flat_rows(result["symbol"], result[key])]
    columns = list(dict.fromkeys(c for row in rows for c in row)) or ["symbol", "time"]
    writer.writerow(columns)
    writer.writerows([[_cell(row.get(c)) for c in columns] for row in rows])
    return out.getvalue()


def _flat_rows(symbol: str, items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        flat = {"symbol": symbol, **{k: v for k, v in item.items() if k != "indicators"}}
        yield flat | dict(item.get("indicators", {}))


def _cell(value: Any) -> Any:
    # Text a spreadsheet would run as a formula (= + - @, tab, CR first) gets a leading "'"
    # (OWASP's CSV-injection advice); numbers, negative ones included, are written as numbers.
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _save(store: RedisStore, record: dict[str, Any]) -> None:
    with translate_errors():
        store.client.hset(keys.EXPORTS, record["id"], json.dumps(record))
        if record["status"] == "pending":
            _record_created(store, record["id"], record["created_at"])


def _record_created(store: RedisStore, export_id: str, created_at: float) -> None:
    # Index the new record by time and drop the records past RECORD_TTL or MAX_RECORDS.
    pipe = store.client.pipeline(transaction=False)
    pipe.zadd(keys.EXPORTS_CREATED, {export_id: created_at})
    pipe.zrangebyscore(keys.EXPORTS_CREATED, "-inf", created_at - RECORD_TTL)
    pipe.zrange(keys.EXPORTS_CREATED, 0, -MAX_RECORDS - 1)
    _, expired, surplus = pipe.execute()
    old = list(dict.fromkeys([*expired, *surplus]))
    if old:
        pipe.hdel(keys.EXPORTS, *old)
        pipe.zrem(keys.EXPORTS_CREATED, *old)
        pipe.execute()
