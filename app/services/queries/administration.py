"""Read models of the administrator's pages: the agencies, one agency with its seal set-up, the users, one user
(with their signer set-up when they sign)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.services.administration.agencies import agency_view, list_agencies, list_users, user_view
from app.services.administration.signing_setup import seal_setup_of, signer_setup_of
from app.services.queries.directory import find_agency, find_user
from app.services.unit_of_work import reading


def _agencies(session: Session) -> list[dict]:
    return [agency_view(a) for a in list_agencies(session)]


def agency_list(system) -> list[dict]:
    """Every agency, by level and name."""
    with reading(system) as session:
        return _agencies(session)


def agency_page(system, ref: str, now: datetime) -> dict:
    """{agency: its view, setup: its seal set-up, agencies: every agency (to choose a parent from)}."""
    with reading(system) as session:
        agency = find_agency(session, ref)
        return {"agency": agency_view(agency), "setup": seal_setup_of(session, agency, now),
                "agencies": _agencies(session)}


def users_page(system, *, agency: str | None = None, role: str | None = None, q: str | None = None) -> dict:
    """{users: the staff users matching the filters (views), agencies: every agency (to filter by)}."""
    with reading(system) as session:
        return {"users": [user_view(u) for u in list_users(session, agency=agency, role=role, q=q)],
                "agencies": _agencies(session)}


def user_page(system, username: str, now: datetime) -> dict:
    """{user: their view, signer: their signer set-up (None unless they sign), agencies: every agency}."""
    with reading(system) as session:
        user = find_user(session, username)
        view = user_view(user, now)
        return {"user": view, "signer": signer_setup_of(session, user, now) if user.has_role("signer") else None,
                "agencies": _agencies(session)}
