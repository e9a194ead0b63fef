"""``wagehood data stream``: live frames over the WebSocket, resumed by sequence number.

The client subscribes with ``{"action": "subscribe", "symbols", "include_indicators",
"since_seq"}``; after a dropped connection it reconnects (every ``reconnect_delay`` seconds)
and asks for what it missed since the last ``seq`` it printed, so no frame is lost or shown
twice. A server's close reason (a revoked key, an expired token, a full quota) is printed
on stderr; a reconnect the API refuses (401/403) ends the command with the auth exit code. It ends cleanly on Ctrl-C or after ``--duration`` seconds.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import uuid
from typing import Any

import click
import websocket

from cli import clicfg
from cli.client import ApiClient, pass_client
from cli.errors import EXIT_AUTH, EXIT_NOT_FOUND, CliError
from cli.output import cell, colour, default_format, format_option
from cli.params import SYMBOL

IDLE = 0.5  # seconds between deadline checks (and flushes) while the socket is quiet
DATA_FRAMES = ("bar", "indicators", "signal")
COLUMNS = ("seq", "type", "symbol", "timeframe", "data")
WIDTHS = (8, 10, 8, 9, 0)


class Sink:
    """Write frames as JSON lines, CSV rows or aligned table rows; flush in batches."""

    def __init__(self, fmt: str, batch: int) -> None:
        self.fmt = fmt
        self.batch = 1 if sys.stdout.isatty() else batch
        self.pending = 0
        self.count = 0
        if fmt != "json":
            self._line(COLUMNS, header=True)

    def write(self, frame: dict[str, Any]) -> None:
        """Write one data frame."""
        if self.fmt == "json":
            sys.stdout.write(json.dumps(frame, separators=(",", ":")) + "\n")
        else:
            data = dict(frame.get("data") or {})
            row = (frame.get("seq"), frame.get("type"), data.pop("symbol", ""),
                   data.pop("timeframe", ""), json.dumps(data, separators=(",", ":")))  # fmt: skip
            self._line(row)
        self.count += 1
        self.pending += 1
        if self.pending >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Flush what is pending to stdout."""
        sys.stdout.flush()
        self.pending = 0

    def _line(self, values: tuple[Any, ...], header: bool = False) -> None:
        texts = [cell(v) for v in values]
        if self.fmt == "csv":
            csv.writer(sys.stdout, lineterminator="\n").writerow(texts)
            return
        line = "  ".join(t.ljust(w) for t, w in zip(texts, WIDTHS, strict=True)).rstrip()
        if header:
            line = click.style(line.upper(), bold=True) if colour() else line.upper()
        sys.stdout.write(line + "\n")


class Streamer:
    """One subscription that survives dropped connections."""

    def __init__(self, client: ApiClient, symbols: list[str], indicators: bool) -> None:
        self.client = client
        self.symbols = symbols
        self.indicators = indicators
        self.last_seq: int | None = None
        self.connected_once = False

    def run(self, sink: Sink, deadline: float | None, delay: float) -> None:
        """Print frames until ``deadline`` (monotonic), reconnecting after ``delay``."""
        failures = 0
        while not _expired(deadline):
            try:
                self._session(sink, deadline)
                return
            except (websocket.WebSocketException, OSError) as error:
                failures = self._on_failure(error, failures)
            sink.flush()
            time.sleep(max(0.0, min(delay, _remaining(deadline))))

    def _session(self, sink: Sink, deadline: float | None) -> None:
        url = self.client.ws_url(f"/realtime/ws/{uuid.uuid4().hex}")
        header = [f"Authorization: Bearer {self.client.key}"] if self.client.key else []
        ws = websocket.create_connection(
            url, timeout=self.client.http.timeout.connect, header=header
        )
        try:
            self.connected_once = True
            ws.send(json.dumps(self._subscription()))
            self._pump(ws, sink, deadline)
        finally:
            ws.close()

    def _subscription(self) -> dict[str, Any]:
        message: dict[str, Any] = {"action": "subscribe", "symbols": self.symbols,
                                   "include_indicators": self.indicators}  # fmt: skip
        if self.last_seq is not None:
            message["since_seq"] = self.last_seq
        return message

    def _pump(self, ws: websocket.WebSocket, sink: Sink, deadline: float | None) -> None:
        while not _expired(deadline):
            ws.settimeout(max(0.05, min(IDLE, _remaining(deadline))))
            try:
                opcode, raw = ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                sink.flush()
                continue
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise websocket.WebSocketConnectionClosedException(_closed_why(raw))
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self._handle(json.loads(raw), sink)

    def _handle(self, frame: dict[str, Any], sink: Sink) -> None:
        kind, seq = frame.get("type"), frame.get("seq")
        if kind == "error":
            click.echo(f"server: {(frame.get('data') or {}).get('message', frame)}", err=True)
        if kind not in DATA_FRAMES:
            return
        if isinstance(seq, int):
            if self.last_seq is not None and seq <= self.last_seq:
                return  # already printed before a reconnect
            self.last_seq = seq
        sink.write(frame)

    def _on_failure(self, error: Exception, failures: int) -> int:
        status = getattr(error, "status_code", None)
        if status in (401, 403):
            raise CliError(f"{status} the API refused the stream's credentials", EXIT_AUTH)
        if status == 404:
            raise CliError("404 no WebSocket endpoint at /api/v1/realtime/ws", EXIT_NOT_FOUND)
        if not self.connected_once and failures >= self.client.retries:
            raise self.client.unreachable(error)
        click.echo(f"stream interrupted ({error or type(error).__name__}); reconnecting", err=True)
        return failures + 1


def _closed_why(payload: bytes) -> str:
    # The close frame's code and reason, e.g. "4401 token expired: renew ...": the reconnect
    # that follows renews the handshake, and a revoked key then ends with the auth exit code.
    if len(payload) < 2:
        return "closed by the server"
    code = int.from_bytes(payload[:2], "big")
    return f"closed by the server ({code} {payload[2:].decode(errors='replace')})"


def _remaining(deadline: float | None) -> float:
    return float("inf") if deadline is None else deadline - time.monotonic()


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


@click.command()
@click.argument("symbols", nargs=-1, required=True, type=SYMBOL)
@click.option("--duration", type=click.FloatRange(min=0, min_open=True),
              help="Stop after this many seconds [default: until Ctrl-C].")  # fmt: skip
@click.option("--indicators", is_flag=True, help="Also stream indicator updates.")
@click.option("--since-seq", type=int, help="Start after this sequence number (resume).")
@click.option("--reconnect-delay", type=float, envvar="WAGEHOOD_RECONNECT_DELAY",
              help="Seconds between reconnects [config: reconnect_delay, 1].")  # fmt: skip
@click.option("--stream-buffer", type=int, envvar="WAGEHOOD_STREAM_BUFFER",
              help="Frames written before a flush when piped [config: stream_buffer].")  # fmt: skip
@format_option
@pass_client
def stream(
    client: ApiClient,
    symbols: tuple[str, ...],
    duration: float | None,
    indicators: bool,
    since_seq: int | None,
    reconnect_delay: float | None,
    stream_buffer: int | None,
    output_format: str | None,
) -> None:
    """Print live bar, indicator and signal frames of SYMBOLS as they arrive.

    JSON output is one frame per line ({"type", "seq", "data"}); table and CSV print one row
    per frame. Ctrl-C or --duration ends the stream with exit code 0.
    """
    streamer = Streamer(client, list(symbols), indicators)
    streamer.last_seq = since_seq
    sink = Sink(output_format or default_format(), clicfg.setting("stream_buffer", stream_buffer))
    deadline = time.monotonic() + duration if duration else None
    try:
        streamer.run(sink, deadline, clicfg.setting("reconnect_delay", reconnect_delay))
    except KeyboardInterrupt:
        pass
    finally:
        sink.flush()
    click.echo(f"{sink.count} frames, last seq {streamer.last_seq}", err=True)
