"""Who is calling: bearer tokens for the API."""
from __future__ import annotations

from flask import current_app, g, request

from app.adapters.models import User
from app.errors import Unauthorized
from app.services.queries.sessions import signed_in_user


def system():
    return current_app.extensions["certcopy"]


def user_from_token(token: str) -> User | None:
    read = current_app.extensions["certcopy_tokens"].read(token)
    if not read:
        return None
    user_id, generation = read
    return signed_in_user(system(), user_id, generation)


def api_user(optional: bool = False) -> User | None:
    if "api_user" in g:
        return g.api_user
    header = request.headers.get("Authorization", "")
    user = None
    if header.startswith("Bearer "):
        user = user_from_token(header[7:].strip())
        if user is None:
            raise Unauthorized("Mã truy cập không hợp lệ hoặc đã hết hạn.", code="invalid_token")
    if user is None and not optional:
        raise Unauthorized("Cần đăng nhập (Authorization: Bearer <token>).", code="unauthenticated")
    g.api_user = user
    return user
