"""The citizen portal's reads: their dossiers, one dossier with its history and payments, the copy and the counts
beside the menu."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.adapters.models import Dossier, Event, HumanTask, Notification, Rating, User
from app.errors import Conflict, NotFound
from app.services.dossiers import documents as document_store
from app.services.dossiers import payments, ratings
from app.services.queries.views import event_view
from app.services.unit_of_work import reading

MY_DOSSIERS_LIMIT = 200


def waiting_count(system, citizen: User) -> int:
    """Dossiers waiting for the citizen (a supplement)."""
    with reading(system) as session:
        return session.scalar(select(func.count(HumanTask.id)).where(HumanTask.citizen_id == citizen.id)) or 0


def unread_count(system, user: User) -> int:
    with reading(system) as session:
        return session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def my_dossiers(system, citizen: User) -> tuple[list[Dossier], set[int]]:
    """The citizen's latest dossiers (newest first, agency loaded) and the ids of those waiting for them."""
    with reading(system) as session:
        rows = list(session.scalars(select(Dossier).where(Dossier.applicant_id == citizen.id)
                                    .order_by(Dossier.id.desc()).limit(MY_DOSSIERS_LIMIT)))
        waiting = set(session.scalars(select(HumanTask.dossier_id).where(HumanTask.citizen_id == citizen.id)))
    return rows, waiting


def _own(session: Session, citizen: User, code: str, *options) -> Dossier:
    dossier = session.scalar(select(Dossier).options(*options).where(Dossier.code == code))
    if dossier is None or dossier.applicant_id != citizen.id:
        raise NotFound("Không có hồ sơ này trong tài khoản của bạn.", code="unknown_dossier")
    return dossier


def own_dossier(system, citizen: User, code: str) -> Dossier:
    """One of the citizen's dossiers (agency and applicant loaded, as the filing receipt shows them)."""
    with reading(system) as session:
        return _own(session, citizen, code, joinedload(Dossier.applicant))


@dataclass(frozen=True)
class CitizenDossier:
    dossier: Dossier            # agency, applicant and register loaded
    events: list[dict]          # its history, in the API's event shape
    payments: list[dict]        # its payments, in the API's payment shape
    supplement_open: bool       # the dossier waits for the citizen's supplement
    rating: Rating | None
    saved_to_store: bool        # the certified copy is in the citizen's document store


def citizen_dossier(system, citizen: User, code: str) -> CitizenDossier:
    provider = payments.provider_for(system)
    with reading(system) as session:
        dossier = _own(session, citizen, code, joinedload(Dossier.applicant), joinedload(Dossier.register))
        events = [event_view(e) for e in session.scalars(
            select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq))]
        paid = [payments.payment_view(p, provider) for p in payments.payments_of(session, dossier)]
        supplement_open = session.scalar(select(HumanTask.id).where(
            HumanTask.dossier_id == dossier.id, HumanTask.name == "supplement")) is not None
        return CitizenDossier(dossier=dossier, events=events, payments=paid, supplement_open=supplement_open,
                              rating=ratings.rating_of(session, dossier),
                              saved_to_store=document_store.result_saved(session, dossier))


def certified_copy(system, citizen: User, code: str) -> bytes:
    """The certified copy of one of the citizen's returned dossiers."""
    with reading(system) as session:
        dossier = _own(session, citizen, code)
        if dossier.status != "returned" or not dossier.result_sha256:
            raise Conflict("Hồ sơ chưa có kết quả để tải về.", code="no_result")
        sha = dossier.result_sha256
    return system.files.get(sha)
