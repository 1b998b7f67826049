"""Who is using the pages: a session cookie for staff and citizens, and CSRF protection on every form."""
from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask import session as cookie

from app.adapters.models import User
from app.services.queries.sessions import signed_in_user
from app.web.common.auth import system

CSRF_FIELD = "csrf_token"


def current_user() -> User | None:
    if "page_user" in g:
        return g.page_user
    user = None
    user_id, generation = cookie.get("uid"), cookie.get("gen")
    if user_id is not None:
        user = signed_in_user(system(), user_id, generation)
        if user is None:
            cookie.clear()
    g.page_user = user
    return user


def log_in(user: User) -> None:
    cookie.clear()
    cookie["uid"], cookie["gen"] = user.id, user.token_generation
    cookie[CSRF_FIELD] = secrets.token_urlsafe(32)
    cookie.permanent = True


def log_out() -> None:
    cookie.clear()


def csrf_token() -> str:
    if CSRF_FIELD not in cookie:
        cookie[CSRF_FIELD] = secrets.token_urlsafe(32)
    return cookie[CSRF_FIELD]


def check_csrf() -> None:
    """Before every page request that changes something: the form must carry the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = cookie.get(CSRF_FIELD) or ""
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ (thiếu mã CSRF). "
                               "Vui lòng tải lại trang và thử lại.")


def login_required(*roles: str):
    """Page decorator: the user must be logged in and, if roles are given, hold one of them."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("pages.login", next=request.full_path))
            if roles and not any(user.has_role(r) for r in roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
