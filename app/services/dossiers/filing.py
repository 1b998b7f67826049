"""Filing a dossier: the one use case behind every way a dossier is filed — the citizen online (the API and the
portal's filing wizard), the one-stop officer for a walk-in, and an appointment turned into a dossier.

It checks the fields, takes the scan (an upload, or an original from the citizen's document store) and checks it
once, writes it to the file store once, and creates the dossier, its documents and its `submitted` event and starts
its workflow at intake, all in one unit of work. A wizard that showed the citizen the pages and the fee first hands
the already stored original back instead of the file, so nothing is checked or written twice."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.adapters.db import next_counter
from app.adapters.models import Agency, Document, Dossier, HumanTask, User, UserRole
from app.domain import filing as rules
from app.domain.calendar import VN_TZ
from app.domain.codes import dossier_code, dossier_counter_key
from app.domain.fees import Fee, fee_for
from app.domain.postal import postal_details
from app.domain.procedures import PROCEDURES
from app.engine.audit import append_event
from app.engine.runtime import StepContext
from app.errors import BadRequest, Conflict, Forbidden, Unprocessable
from app.services.administration.calendars import calendar_for
from app.services.dossiers import documents as citizen_documents
from app.services.dossiers.uploads import StoredOriginal, is_stored, store_original
from app.services.queries.agencies import AgencyChoice, agency_choice
from app.services.queries.directory import agency_by_ref
from app.services.routing.versions import active_version
from app.services.unit_of_work import reading, unit_of_work

DUPLICATE_KEY = "Khóa chống gửi trùng (Idempotency-Key) đã được dùng."


@dataclass(frozen=True)
class FilingValues:
    """A filing's checked fields (everything but the file)."""
    agency_id: int
    agency_code: str
    agency_level: str
    procedure: str
    document_type: str
    copies: int
    delivery: str
    payment: str
    applicant_id: int | None
    applicant_name: str
    email: str | None
    postal_address: str | None
    postal_phone: str | None


@dataclass(frozen=True)
class PreparedFiling:
    """A filing checked and its original stored, not yet filed: what the wizard's confirmation page shows."""
    values: FilingValues
    original: StoredOriginal
    fee: Fee


@dataclass(frozen=True)
class FiledDossier:
    """What a caller learns about the dossier it filed (or, on a repeat, the one filed first)."""
    code: str
    status: str
    pages: int
    copies: int
    fee_amount: int
    due_at: datetime | None
    intake_task_id: str | None  # the READY intake task, for the officer who goes on to receive it

    def fee_view(self) -> dict:
        return {"pages": self.pages, "copies": self.copies, "amount_vnd": self.fee_amount}


def _find_agency(session: Session, ref: str | None) -> Agency:
    if not ref:
        raise Unprocessable("Cần chọn cơ quan tiếp nhận (trường 'agency').", code="invalid_field",
                            details={"fields": {"agency": "required"}})
    agency = agency_by_ref(session, ref)
    if agency is None:
        raise Unprocessable(f"Không có cơ quan '{ref}'.", code="unknown_agency")
    return agency


def _citizen_account(session: Session, ref: str) -> User:
    """The citizen account a walk-in names by its username or ID number."""
    applicant = session.scalar(select(User).join(UserRole).where(
        UserRole.role == "citizen", or_(User.username == ref, User.id_number == ref)))
    if applicant is None:
        raise rules.field_error("citizen", f"Không tìm thấy tài khoản công dân '{ref}'.", "unknown_citizen")
    return applicant


def validate_filing(session: Session, actor: User, fields: dict) -> FilingValues:
    """Check a filing's fields (everything but the file); a citizen files for themselves, a one-stop officer of the
    agency for a walk-in applicant named by account or by e-mail."""
    agency = _find_agency(session, fields.get("agency"))
    walk_in = not actor.has_role("citizen")
    if walk_in and not (actor.has_role("one_stop") and actor.agency_id == agency.id):
        raise Forbidden("Chỉ công dân hoặc Bộ phận một cửa của cơ quan này mới nộp hồ sơ được.")
    choices = rules.filing_choices(fields, agency.level, agency.name)
    delivery = choices.delivery
    applicant, email, name = actor, None, actor.full_name
    if walk_in:
        who = rules.walk_in_applicant(fields)
        if who.citizen:
            applicant = _citizen_account(session, who.citizen)
            name = applicant.full_name
        else:
            applicant, email, name = None, who.email, who.name or who.email
            delivery = rules.delivery_without_account(delivery)
    elif delivery == "email":
        email = actor.email
    postal_address, postal_phone = postal_details(delivery, fields)
    return FilingValues(agency_id=agency.id, agency_code=agency.code, agency_level=agency.level,
                        procedure=choices.procedure, document_type=choices.document_type, copies=choices.copies,
                        delivery=delivery, payment=choices.payment, applicant_id=applicant.id if applicant else None,
                        applicant_name=name, email=email, postal_address=postal_address, postal_phone=postal_phone)


def _scan(system, session: Session, actor: User, fields: dict, upload: bytes | None,
          filename: str) -> tuple[bytes | None, str]:
    """The scan to file: the uploaded `original`, or (citizen) `document_id`, an original from their own store
    ("Lấy giấy tờ từ KDL"), filed exactly as if it had been uploaded. Exactly one of the two."""
    document_id = citizen_documents.parse_document_id(fields.get("document_id"))
    if document_id is not None:
        if upload is not None:
            raise rules.field_error("document_id", "Chỉ chọn một: tải lên tệp bản scan (original) hoặc lấy giấy tờ "
                                                   "từ kho dữ liệu (document_id), không chọn cả hai.")
        return citizen_documents.original_for_filing(system, session, actor, document_id)
    if upload is None and citizen_documents.has_store(actor):
        message = "Cần tải lên bản scan bản chính (trường 'original') hoặc chọn giấy tờ từ kho dữ liệu (document_id)."
        raise Unprocessable(message, code="missing_file",
                            details={"fields": {"original": message, "document_id": message}})
    return upload, filename


def filing_target(system, agency_ref: str | None, procedure: str | None) -> AgencyChoice:
    """Where a citizen chose to file (the first step of the portal's wizard): an agency, and a procedure offered at
    its level."""
    agency = agency_choice(system, agency_ref)
    if agency is None:
        raise rules.field_error("agency", "Cần chọn cơ quan thực hiện.", "unknown_agency")
    if procedure not in PROCEDURES:
        raise rules.field_error("procedure", "Cần chọn thủ tục.", "unknown_procedure")
    if agency.level not in PROCEDURES[procedure]["levels"]:
        raise rules.field_error("procedure", f"Thủ tục {procedure} không thực hiện tại {agency.name}.",
                                "procedure_not_offered")
    return agency


def _check_filer(actor: User) -> None:
    if not (actor.has_role("citizen") or actor.has_role("one_stop")):
        raise Forbidden("Chỉ công dân hoặc Bộ phận một cửa mới nộp hồ sơ được.")


def prepare_filing(system, actor: User, fields: dict, upload: bytes | None,
                   filename: str = "original.pdf") -> PreparedFiling:
    """Check a filing and store its original without filing it (the wizard's confirmation step): the pages are
    counted and the fee computed from the checked scan. `file_dossier(..., original=prepared.original)` files it."""
    _check_filer(actor)
    with reading(system) as session:
        values = validate_filing(session, actor, fields)
        upload, filename = _scan(system, session, actor, fields, upload, filename)
    original = store_original(system, upload, filename)
    return PreparedFiling(values=values, original=original, fee=fee_for(original.pages, values.copies))


def file_dossier(system, actor: User, fields: dict, upload: bytes | None = None, filename: str = "original.pdf", *,
                 original: StoredOriginal | None = None, idempotency_key: str | None = None,
                 also: Callable[[Session, Dossier], None] | None = None) -> tuple[FiledDossier, bool]:
    """File a dossier and start it at intake. Returns (dossier, created).

    The scan is `upload` (or the `document_id` of `fields`), or `original` when `prepare_filing` already checked and
    stored it. The same `idempotency_key` files once: a repeat by the same user, also one arriving at the same
    moment, returns the first dossier with created=False. `also` runs in the same unit of work once the dossier
    exists (an appointment is marked converted with it)."""
    _check_filer(actor)
    if original is not None and not is_stored(system, original):
        raise BadRequest("Phiên nộp hồ sơ không hợp lệ; vui lòng nộp lại từ đầu.", code="bad_draft")
    now = clock.now()
    try:
        with unit_of_work(system) as session:
            if idempotency_key:
                existing = _by_key(session, idempotency_key, actor)
                if existing is not None:
                    return existing, False
            values = validate_filing(session, actor, fields)
            if original is None:
                upload, filename = _scan(system, session, actor, fields, upload, filename)
                original = store_original(system, upload, filename)
            dossier = _create(system, session, actor, values, original, idempotency_key, now)
            if also is not None:
                also(session, dossier)
            filed = filed_view(session, dossier)
    except IntegrityError:
        if not idempotency_key:
            raise
        # The same form arrived twice at the same moment: the other request filed the dossier.
        with reading(system) as session:
            existing = _by_key(session, idempotency_key, actor)
        if existing is None:
            raise Conflict(DUPLICATE_KEY, code="duplicate") from None
        return existing, False
    return filed, True


def _by_key(session: Session, idempotency_key: str, actor: User) -> FiledDossier | None:
    existing = session.scalar(select(Dossier).where(Dossier.idempotency_key == idempotency_key))
    if existing is None:
        return None
    if existing.created_by_id != actor.id:
        raise Conflict(DUPLICATE_KEY, code="duplicate")
    return filed_view(session, existing)


def filed_view(session: Session, dossier: Dossier) -> FiledDossier:
    """What the filer is told about a dossier filed before (an idempotent repeat)."""
    intake = session.scalar(select(HumanTask.id).where(HumanTask.dossier_id == dossier.id,
                                                       HumanTask.name == "intake"))
    return FiledDossier(code=dossier.code, status=dossier.status, pages=dossier.pages, copies=dossier.copies,
                        fee_amount=dossier.fee_amount, due_at=dossier.due_at, intake_task_id=intake)


def _create(system, session: Session, actor: User, values: FilingValues, original: StoredOriginal,
            idempotency_key: str | None, now: datetime) -> Dossier:
    """The dossier, its documents, its `submitted` event, and its workflow started at intake."""
    fee = fee_for(original.pages, values.copies)
    day = now.astimezone(VN_TZ).date()
    code = dossier_code(values.agency_code, day, next_counter(session, dossier_counter_key(values.agency_code, day)))
    version = active_version(session, values.agency_level)
    dossier = Dossier(
        code=code, agency_id=values.agency_id, procedure=values.procedure, document_type=values.document_type,
        copies=values.copies, delivery=values.delivery, payment=values.payment, applicant_id=values.applicant_id,
        applicant_name=values.applicant_name, applicant_email=values.email, created_by_id=actor.id,
        status="submitted", variant=values.agency_level, process_version_id=version.id, pages=original.pages,
        fee_amount=fee.amount_vnd, fee_paid=False, submitted_at=now,
        due_at=calendar_for(session, values.agency_id).due_at(now, system.settings.processing_hours),
        original_sha256=original.usable_sha256, idempotency_key=idempotency_key, event_seq=0, event_head="",
        lock_version=0, loop_rounds=0, postal_address=values.postal_address, postal_phone=values.postal_phone,
    )
    session.add(dossier)
    session.flush()
    session.add(Document(dossier_id=dossier.id, kind="original", sha256=original.uploaded_sha256,
                         size=original.size, pages=original.pages, filename=original.filename[:255], created_at=now))
    if citizen_documents.saves_original_at_filing(actor):
        citizen_documents.save_original(session, actor, dossier, original.uploaded_sha256, original.size,
                                        original.pages, original.filename, now)
    if original.rewritten:
        kind = "original_cleaned" if original.active_content_removed else "original_repaired"
        session.add(Document(dossier_id=dossier.id, kind=kind, sha256=original.usable_sha256,
                             size=original.usable_size, pages=original.pages,
                             filename=f"{kind[9:]}-{original.filename}"[:255], created_at=now))
    role = "citizen" if actor.has_role("citizen") else "one_stop"
    append_event(session, dossier, at=now, actor=actor.username, role=role, kind="submitted", data={
        "agency": values.agency_code, "procedure": dossier.procedure, "document_type": dossier.document_type,
        "copies": dossier.copies, "delivery": dossier.delivery, "payment": dossier.payment,
        "fee": fee.as_dict(), "original_sha256": original.uploaded_sha256, "repaired": original.repaired,
        "active_content_removed": list(original.active_content_removed),
        "walk_in": role == "one_stop",
    })
    context = StepContext(session=session, dossier=dossier, actor=actor, actor_name=actor.username, role=role,
                          now=now, services=system)
    system.engine.start(context, {"supplement_timeout": system.settings.supplement_timeout, "dossier": code})
    return dossier
