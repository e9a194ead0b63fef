"""Auth routes: exchange a key for a short-lived token; manage keys (admin)."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint

from api.extensions import state
from api.schemas import ApiErrorSchema, KeyCreateSchema, KeyListSchema, KeySchema, TokenSchema
from api.security import current_principal
from wagehood.errors import AuthError
from wagehood.service import auth as auth_service

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Keys and tokens")


@blp.route("/token", methods=["POST"])
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ApiErrorSchema, description="Missing or invalid key")
def token() -> dict[str, Any]:
    """Exchange the API key sent as Bearer for a short-lived JWT."""
    if g.credential_kind != "key":
        raise AuthError("send an API key, not a token, to get a token")
    return auth_service.issue_token(state().store, state().settings, current_principal())


@blp.route("/keys", methods=["GET"])
@blp.response(200, KeyListSchema)
def list_keys() -> dict[str, Any]:
    """List every key (admin)."""
    return {"keys": [p.to_dict() for p in auth_service.list_keys(state().store)]}


@blp.route("/keys", methods=["POST"])
@blp.arguments(KeyCreateSchema)
@blp.response(201, KeySchema)
def create_key(args: dict[str, Any]) -> dict[str, Any]:
    """Create a key (admin); its secret is shown only in this response."""
    created = auth_service.create_key(
        state().store, args["name"], args["permissions"], args["rate_limit"]
    )
    return created.to_dict()


@blp.route("/keys/<key_id>", methods=["DELETE"])
@blp.response(200, KeySchema)
@blp.alt_response(404, schema=ApiErrorSchema, description="Unknown key")
def revoke_key(key_id: str) -> dict[str, Any]:
    """Revoke a key (admin); its tokens stop working too."""
    return auth_service.revoke_key(state().store, key_id).to_dict()
