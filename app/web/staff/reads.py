"""One read-only database session per request for what a staff page shows around its content (menu badges,
unread notifications, the inbox list), so a page costs one connection checkout instead of one per badge.
Closed when the request ends; writes never use it (they go through the service layer's units of work)."""
from __future__ import annotations

from flask import Flask, g, has_request_context

from app.web.common.auth import system


def read_session():
    """The request's read session (a fresh, caller-closed one outside a request)."""
    if not has_request_context():
        return _Standalone(system().db.session())
    if "staff_read_session" not in g:
        g.staff_read_session = system().db.session()
    return _Borrowed(g.staff_read_session)


class _Borrowed:
    """`with read_session() as session:` without closing the shared session at the end of the block."""

    def __init__(self, session):
        self.session = session

    def __enter__(self):
        return self.session

    def __exit__(self, *exc):
        return False


class _Standalone(_Borrowed):
    def __exit__(self, *exc):
        self.session.close()
        return False


def close_read_session(_exc=None) -> None:
    session = g.pop("staff_read_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_read_session)
