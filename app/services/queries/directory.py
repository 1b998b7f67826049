"""Looking up agencies (by code or slug) and users (by username), as every caller refers to them."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.adapters.models import Agency, User, UserRole
from app.services.unit_of_work import reading


def agency_ref_matches(ref: object):
    """SQL condition: the agency whose code or slug is `ref`."""
    return or_(Agency.code == str(ref), Agency.slug == str(ref))


def agency_by_ref(session: Session, ref: object) -> Agency | None:
    return session.scalar(select(Agency).where(agency_ref_matches(ref))) if ref else None


def find_agency(session: Session, ref: object) -> Agency:
    agency = agency_by_ref(session, ref)
    if agency is None:
        raise NotFound(f"Không có cơ quan '{ref}'.", code="unknown_agency")
    return agency


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("Không có người dùng này.", code="unknown_user")
    return user


def citizen_contact(system, id_number: str) -> dict | None:
    """The active citizen account with this ID number, as the one-stop officer sees it at the counter."""
    with reading(system) as session:
        user = session.scalar(select(User).join(UserRole).where(UserRole.role == "citizen", User.active,
                                                                User.id_number == id_number))
        if user is None:
            return None
        return {"id_number": user.id_number, "full_name": user.full_name, "date_of_birth": user.date_of_birth,
                "phone": user.phone, "email": user.email}
