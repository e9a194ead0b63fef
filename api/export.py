"""Export routes: request an export (run by a worker), poll it, download it."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context, url_for
from flask_smorest import Blueprint

from api.extensions import enqueue_export, state
from api.schemas import ApiErrorSchema, ExportRequestSchema, ExportStatusSchema
from api.security import current_principal
from wagehood.service import exports

blp = Blueprint(
    "export", __name__, url_prefix="/api/v1/realtime/data/export", description="Data exports"
)
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}


@blp.route("", methods=["POST"])
@blp.arguments(ExportRequestSchema)
@blp.response(202, ExportStatusSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="A symbol has no state")
@blp.alt_response(429, schema=ApiErrorSchema, description="The key's export quota is used up")
def create(args: dict[str, Any]) -> dict[str, Any]:
    """Start an export; poll its status, then download it."""
    request = exports.ExportRequest(**{**args, "symbols": tuple(args["symbols"])})
    limits = exports.ExportLimits.from_settings(state().settings)
    record = exports.create(state().store, request, current_principal().key_id, limits)
    enqueue_export(record["id"])
    return _with_links(record)


@blp.route("/<export_id>", methods=["GET"])
@blp.response(200, ExportStatusSchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="Unknown export, or another key's")
def status(export_id: str) -> dict[str, Any]:
    """Return an export's status."""
    return _with_links(exports.status(state().store, export_id, _owner()))


@blp.route("/<export_id>/download", methods=["GET"])
@blp.response(200, description="The export's file (JSON or CSV), streamed")
@blp.alt_response(
    404, schema=ApiErrorSchema, description="Unknown or expired export, or another key's"
)
@blp.alt_response(409, schema=ApiErrorSchema, description="The export is not done yet")
def download(export_id: str) -> Response:
    """Stream a finished export's file."""
    record, chunks = exports.content(state().store, export_id, _owner())
    fmt = record["request"]["format"]
    response = Response(stream_with_context(chunks), content_type=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{export_id}.{fmt}"'
    response.headers["Content-Length"] = str(record["size"])
    return response


def _owner() -> str | None:
    # Exports are bound to the key that asked for them; an admin sees every one.
    principal = current_principal()
    return None if principal.allows("admin") else principal.key_id


def _with_links(record: dict[str, Any]) -> dict[str, Any]:
    done = record["status"] == "done"
    link = url_for("export.download", export_id=record["id"]) if done else None
    return record | {"download": link}
