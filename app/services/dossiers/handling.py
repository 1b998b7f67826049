"""Use cases that change a dossier. Each is one transaction under the dossier's lock."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import signing

from app import clock
from app.adapters.db import lock_dossier, next_counter
from app.engine.audit import append_event
from app.engine.runtime import StepContext
from app.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from app.adapters.models import Agency, Document, Dossier, Event, HumanTask, Register, User, UserRole
from app.services.unit_of_work import unit_of_work
from app.services.dossiers import documents as citizen_documents
from app.domain.access import can_view_dossier, may_work
from app.services.administration.accounts import PHONE_RE
from app.services.administration.calendars import calendar_for
from app.domain.calendar import VN_TZ
from app.domain.codes import dossier_code, dossier_counter_key
from app.services.queries.directory import agency_by_ref
from app.domain.fees import fee_for
from app.domain.task_forms import validate_form
from app.services.routing.versions import active_version
from app.domain.procedures import DELIVERY, PAYMENT, PROCEDURES
from app.services.registers import check_register_open

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_COPIES = 100
POSTAL_ADDRESS_MIN, POSTAL_ADDRESS_MAX = 10, 500
# Supplement and rework loops deepen SpiffWorkflow's task tree; bound them well below where it breaks (~200).
MAX_LOOP_ROUNDS = 60
LOOPING_DECISIONS = {("intake", "supplement"), ("review_sign", "reject")}


def inspect_upload(system, data: bytes | None):
    if data is None:
        raise BadRequest("Thiếu tệp bản scan bản chính (trường 'original').", code="missing_file")
    try:
        return signing.inspect_original(data, system.settings.max_upload_bytes)
    except signing.InvalidPdf as exc:
        limit_mb = system.settings.max_upload_bytes // (1024 * 1024)
        messages = {
            "pdf_too_large": (TooLarge, f"Tệp vượt quá dung lượng cho phép ({limit_mb} MB)."),
            "not_pdf": (UnsupportedMediaType, "Tệp tải lên không phải là tệp PDF."),
            "empty_pdf": (Unprocessable, "Tệp PDF rỗng."),
            "truncated_pdf": (Unprocessable, "Tệp PDF bị hỏng hoặc không đầy đủ."),
            "encrypted_pdf": (Unprocessable, "Tệp PDF có mật khẩu hoặc bị mã hóa; hãy tải bản không mã hóa."),
            "no_pages": (Unprocessable, "Tệp PDF không có trang nào."),
        }
        cls, message = messages.get(exc.code, (Unprocessable, f"Tệp PDF không dùng được: {exc}"))
        raise cls(message, code=exc.code) from None


def _step(system, session, dossier, actor: User | None, role: str | None, now: datetime, pin: str | None = None):
    return StepContext(session=session, dossier=dossier, actor=actor,
                       actor_name=actor.username if actor else "system", role=role, now=now, services=system,
                       pin=pin)


def _find_agency(session: Session, ref: str | None) -> Agency:
    if not ref:
        raise Unprocessable("Cần chọn cơ quan tiếp nhận (trường 'agency').", code="invalid_field",
                            details={"fields": {"agency": "required"}})
    agency = agency_by_ref(session, ref)
    if agency is None:
        raise Unprocessable(f"Không có cơ quan '{ref}'.", code="unknown_agency")
    return agency


def _field_error(field: str, message: str, code: str = "invalid_field") -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {field: message}})


def postal_details(delivery: str, fields: dict) -> tuple[str | None, str | None]:
    """The postal address and phone of a filing, normalised: (address, phone).

    When the result goes by post (nhận kết quả qua bưu chính) the address is required (trimmed, 10–500
    characters) and the phone optional but a Vietnamese number; otherwise neither may be sent."""
    address = str(fields.get("postal_address") or "").strip()
    phone = str(fields.get("postal_phone") or "").strip().replace(" ", "")
    if delivery != "post":
        for name, value, label in (("postal_address", address, "Địa chỉ nhận kết quả"),
                                   ("postal_phone", phone, "Số điện thoại nhận bưu gửi")):
            if value:
                raise _field_error(name, f"{label} chỉ nhập khi chọn nhận kết quả qua bưu chính.")
        return None, None
    if not address:
        raise _field_error("postal_address", "Cần nhập địa chỉ nhận kết quả qua bưu chính.")
    if not POSTAL_ADDRESS_MIN <= len(address) <= POSTAL_ADDRESS_MAX:
        raise _field_error("postal_address", f"Địa chỉ nhận kết quả phải từ {POSTAL_ADDRESS_MIN} đến "
                                             f"{POSTAL_ADDRESS_MAX} ký tự (số nhà, đường, phường/xã, quận/huyện, "
                                             "tỉnh/thành phố).")
    if phone and not PHONE_RE.match(phone):
        raise _field_error("postal_phone", "Số điện thoại nhận bưu gửi không hợp lệ (10 số bắt đầu bằng 0, "
                                           "hoặc +84 và 9 số).")
    return address, phone or None


def postal_tracking_at_return(delivery: str, tracking: object) -> str | None:
    """The postal item number (số hiệu bưu gửi) at the return step: required when the result goes by post,
    refused otherwise. Its format is checked by forms/return.json."""
    tracking = str(tracking or "").strip()
    if delivery == "post":
        if not tracking:
            message = "Hồ sơ nhận kết quả qua bưu chính: cần nhập số hiệu bưu gửi."
            raise Unprocessable(message, code="postal_tracking_required",
                                details={"fields": {"postal_tracking": message}})
        return tracking
    if tracking:
        message = "Hồ sơ không nhận kết quả qua bưu chính: không nhập số hiệu bưu gửi."
        raise Unprocessable(message, code="postal_tracking_not_allowed",
                            details={"fields": {"postal_tracking": message}})
    return None


def validate_filing(session: Session, actor: User, fields: dict) -> dict:
    """Check a filing's fields (everything but the file); returns the normalised values."""
    agency = _find_agency(session, fields.get("agency"))
    walk_in = not actor.has_role("citizen")
    if walk_in and not (actor.has_role("one_stop") and actor.agency_id == agency.id):
        raise Forbidden("Chỉ công dân hoặc Bộ phận một cửa của cơ quan này mới nộp hồ sơ được.")
    procedure = fields.get("procedure") or ""
    if procedure not in PROCEDURES:
        raise _field_error("procedure", f"Không có thủ tục '{procedure}'.", "unknown_procedure")
    if agency.level not in PROCEDURES[procedure]["levels"]:
        raise _field_error("procedure", f"Thủ tục {procedure} không thực hiện tại {agency.name}.",
                           "procedure_not_offered")
    document_type = (fields.get("document_type") or "").strip()
    if not document_type or len(document_type) > 255:
        raise _field_error("document_type", "Cần nhập tên giấy tờ cần chứng thực (tối đa 255 ký tự).")
    try:
        copies = int(fields.get("copies", 1))
    except (TypeError, ValueError):
        raise _field_error("copies", "Số bản sao phải là số nguyên.") from None
    if not 1 <= copies <= MAX_COPIES:
        raise _field_error("copies", f"Số bản sao phải từ 1 đến {MAX_COPIES}.")
    delivery = fields.get("delivery") or "online"
    if delivery not in DELIVERY:
        raise _field_error("delivery", "Hình thức nhận kết quả không hợp lệ (online, email, post).")
    payment = fields.get("payment") or "counter"
    if payment not in PAYMENT:
        raise _field_error("payment", "Hình thức thanh toán không hợp lệ (counter, online).")
    if str(fields.get("declaration", "")).lower() not in ("true", "1", "on", "yes"):
        raise _field_error("declaration", "Cần xác nhận cam đoan về tính chính xác của hồ sơ.", "declaration_required")

    applicant, email = actor, None
    if walk_in:
        ref = (fields.get("citizen") or "").strip()
        email = (fields.get("email") or "").strip() or None
        if ref:
            applicant = session.scalar(select(User).join(UserRole).where(
                UserRole.role == "citizen", or_(User.username == ref, User.id_number == ref)))
            if applicant is None:
                raise _field_error("citizen", f"Không tìm thấy tài khoản công dân '{ref}'.", "unknown_citizen")
            email = None
        elif email:
            if not EMAIL_RE.match(email):
                raise _field_error("email", "Địa chỉ email không hợp lệ.")
            applicant = None
            delivery = "post" if delivery == "post" else "email"  # no account: by e-mail, or by post
            applicant_name = (fields.get("applicant_name") or "").strip()
            if len(applicant_name) > 255:
                raise _field_error("applicant_name", "Họ tên người yêu cầu tối đa 255 ký tự.")
        else:
            raise _field_error("citizen", "Hồ sơ trực tiếp cần tài khoản công dân (citizen) hoặc email (email).")
    elif delivery == "email":
        email = actor.email
    postal_address, postal_phone = postal_details(delivery, fields)
    return dict(agency=agency, procedure=procedure, document_type=document_type, copies=copies,
                delivery=delivery, payment=payment, applicant=applicant, email=email,
                applicant_name=applicant.full_name if applicant else (applicant_name or email),
                postal_address=postal_address, postal_phone=postal_phone)


def filing_source(system, session: Session, actor: User, fields: dict, upload: bytes | None,
                   filename: str) -> tuple[bytes | None, str]:
    """The scan to file: the uploaded `original`, or (citizen) `document_id`, an original from their own store
    ("Lấy giấy tờ từ KDL"), filed exactly as if it had been uploaded. Exactly one of the two."""
    document_id = citizen_documents.parse_document_id(fields.get("document_id"))
    if document_id is not None:
        if upload is not None:
            raise _field_error("document_id", "Chỉ chọn một: tải lên tệp bản scan (original) hoặc lấy giấy tờ từ "
                                              "kho dữ liệu (document_id), không chọn cả hai.")
        return citizen_documents.original_for_filing(system, session, actor, document_id)
    if upload is None and citizen_documents.has_store(actor):
        message = "Cần tải lên bản scan bản chính (trường 'original') hoặc chọn giấy tờ từ kho dữ liệu (document_id)."
        raise Unprocessable(message, code="missing_file",
                            details={"fields": {"original": message, "document_id": message}})
    return upload, filename


def submit_dossier(system, actor: User, fields: dict, upload: bytes | None, filename: str = "original.pdf",
                   idempotency_key: str | None = None) -> tuple[Dossier, bool]:
    """File a dossier (citizen online, or one_stop walk-in). Returns (dossier, created)."""
    if not (actor.has_role("citizen") or actor.has_role("one_stop")):
        raise Forbidden("Chỉ công dân hoặc Bộ phận một cửa mới nộp hồ sơ được.")
    with system.db.session() as session:
        if idempotency_key:
            existing = session.scalar(select(Dossier).where(Dossier.idempotency_key == idempotency_key))
            if existing is not None:
                if existing.created_by_id != actor.id:
                    raise Conflict("Khóa chống gửi trùng (Idempotency-Key) đã được dùng.", code="duplicate")
                return existing, False
        values = validate_filing(session, actor, fields)
        upload, filename = filing_source(system, session, actor, fields, upload, filename)
    info = inspect_upload(system, upload)
    uploaded_sha = system.files.put(upload)
    usable_sha = system.files.put(info.pdf) if info.rewritten else uploaded_sha
    fee = fee_for(info.pages, values["copies"])
    now = clock.now()
    try:
        with unit_of_work(system) as session:
            agency = session.get(Agency, values["agency"].id)
            day = now.astimezone(VN_TZ).date()
            code = dossier_code(agency.code, day, next_counter(session, dossier_counter_key(agency.code, day)))
            version = active_version(session, agency.level)
            applicant = values["applicant"]
            dossier = Dossier(
                code=code, agency_id=agency.id, procedure=values["procedure"], document_type=values["document_type"],
                copies=values["copies"], delivery=values["delivery"], payment=values["payment"],
                applicant_id=applicant.id if applicant else None,
                applicant_name=values["applicant_name"],
                applicant_email=values["email"], created_by_id=actor.id, status="submitted", variant=agency.level,
                process_version_id=version.id, pages=info.pages, fee_amount=fee.amount_vnd, fee_paid=False,
                submitted_at=now,
                due_at=calendar_for(session, agency.id).due_at(now, system.settings.processing_hours),
                original_sha256=usable_sha, idempotency_key=idempotency_key, event_seq=0, event_head="", lock_version=0,
                loop_rounds=0, postal_address=values["postal_address"], postal_phone=values["postal_phone"],
            )
            session.add(dossier)
            session.flush()
            session.add(Document(dossier_id=dossier.id, kind="original", sha256=uploaded_sha, size=len(upload),
                                 pages=info.pages, filename=filename[:255], created_at=now))
            if citizen_documents.saves_original_at_filing(actor):
                citizen_documents.save_original(session, actor, dossier, uploaded_sha, len(upload), info.pages,
                                                filename, now)
            if info.rewritten:
                kind = "original_cleaned" if info.active_content_removed else "original_repaired"
                session.add(Document(dossier_id=dossier.id, kind=kind, sha256=usable_sha,
                                     size=len(info.pdf), pages=info.pages, filename=f"{kind[9:]}-{filename}"[:255],
                                     created_at=now))
            role = "citizen" if actor.has_role("citizen") else "one_stop"
            append_event(session, dossier, at=now, actor=actor.username, role=role, kind="submitted", data={
                "agency": agency.code, "procedure": dossier.procedure, "document_type": dossier.document_type,
                "copies": dossier.copies, "delivery": dossier.delivery, "payment": dossier.payment,
                "fee": fee.as_dict(), "original_sha256": uploaded_sha, "repaired": info.repaired,
                "active_content_removed": list(info.active_content_removed),
                "walk_in": role == "one_stop",
            })
            system.engine.start(_step(system, session, dossier, actor, role, now),
                                {"supplement_timeout": system.settings.supplement_timeout, "dossier": code})
    except IntegrityError:
        if not idempotency_key:
            raise
        # The same form arrived twice at the same moment: the other request created the dossier.
        with system.db.session() as session:
            existing = session.scalar(select(Dossier).where(Dossier.idempotency_key == idempotency_key))
        if existing is None or existing.created_by_id != actor.id:
            raise Conflict("Khóa chống gửi trùng (Idempotency-Key) đã được dùng.", code="duplicate") from None
        return existing, False
    return dossier, True


def _known_task_dossier(session: Session, task_id: str) -> str:
    row = session.get(HumanTask, task_id)
    if row is not None:
        return row.dossier.code
    done = session.scalar(select(Event).where(Event.task_id == task_id, Event.kind == "task_completed"))
    if done is not None:
        raise Conflict("Công việc này đã được xử lý, không còn chờ nữa.", code="task_not_ready")
    raise NotFound("Không có công việc này.", code="unknown_task")


def _ready_row(session: Session, dossier: Dossier, task_id: str, actor: User) -> HumanTask:
    if dossier is None:
        raise NotFound("Không có hồ sơ này.")
    row = session.get(HumanTask, task_id)
    if row is None:
        raise Conflict("Công việc này đã được xử lý, không còn chờ nữa.", code="task_not_ready")
    reason = may_work(actor, dossier, row)
    if reason:
        raise Forbidden(reason)
    return row


def _check_task_rules(session: Session, system, dossier: Dossier, name: str, data: dict, now: datetime) -> None:
    """Domain rules a form schema cannot express."""
    if (name, data.get("decision")) in LOOPING_DECISIONS:
        if (dossier.loop_rounds or 0) >= MAX_LOOP_ROUNDS:
            raise Unprocessable(f"Hồ sơ đã qua {MAX_LOOP_ROUNDS} lượt bổ sung/trả lại: hãy từ chối hoặc hủy hồ sơ.",
                                code="too_many_rounds")
        dossier.loop_rounds = (dossier.loop_rounds or 0) + 1
    if name == "assign":
        signer = session.scalar(select(User).join(UserRole).where(
            User.username == data["signer"], User.agency_id == dossier.agency_id, User.active,
            UserRole.role == "signer"))
        if signer is None:
            raise Unprocessable(f"'{data['signer']}' không phải người ký chứng thực của cơ quan này.",
                                code="unknown_signer", details={"fields": {"signer": "unknown"}})
    elif name == "seal":
        # A plain read for the early, friendly check; seal_copy takes the register lock and checks again.
        check_register_open(session.get(Register, data["register"]), dossier.agency_id,
                            now.astimezone(VN_TZ).date())
    elif name == "return":
        if not (data.get("fee_paid") or dossier.fee_paid):
            raise Unprocessable("Chưa thu lệ phí: cần ghi nhận đã nộp lệ phí trước khi trả kết quả.",
                                code="fee_unpaid", details={"fields": {"fee_paid": "required"}})
        tracking = postal_tracking_at_return(dossier.delivery, data.get("postal_tracking"))
        dossier.fee_paid = True
        if tracking is not None:
            dossier.postal_tracking = tracking


# Tasks at which the worker may attach a corrected scan of the original (it replaces the one to certify).
CORRECTED_SCAN_TASKS = {"rework"}


def complete_task(system, actor: User, task_id: str, data: dict, pin: str | None = None,
                  corrected_scan: bytes | None = None, filename: str = "corrected.pdf") -> Dossier:
    with system.db.session() as session:
        code = _known_task_dossier(session, task_id)
    info = sha = None
    if corrected_scan is not None:
        info = inspect_upload(system, corrected_scan)
        sha = system.files.put(info.pdf)
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        row = _ready_row(session, dossier, task_id, actor)
        if row.name == "supplement":
            raise Unprocessable("Bổ sung hồ sơ cần tải tệp lên: dùng POST /dossiers/{code}/supplement.",
                                code="use_supplement_upload")
        if info is not None and row.name not in CORRECTED_SCAN_TASKS:
            raise Unprocessable("Bước này không nhận bản scan thay thế.", code="scan_not_accepted")
        cleaned = validate_form(row.name, data)
        _check_task_rules(session, system, dossier, row.name, cleaned, now)
        if info is not None:
            _replace_scan(session, dossier, info, sha, "corrected_original", filename, now)
            cleaned = {**cleaned, "corrected_scan_sha256": sha}
        _run_task(system, session, dossier, row, actor, cleaned, now, pin)
    return dossier


def _replace_scan(session, dossier: Dossier, info, sha: str, kind: str, filename: str, now) -> None:
    """A new scan replaces the one to certify; pages and fee follow it."""
    session.add(Document(dossier_id=dossier.id, kind=kind, sha256=sha, size=len(info.pdf), pages=info.pages,
                         filename=filename[:255], created_at=now))
    dossier.original_sha256 = sha
    dossier.pages = info.pages
    dossier.fee_amount = fee_for(info.pages, dossier.copies).amount_vnd


def _run_task(system, session, dossier, row: HumanTask, actor: User, cleaned: dict, now, pin=None) -> None:
    workflow = system.engine.load(dossier)
    if system.engine.ready_task(workflow, row.id) is None:
        raise Conflict("Công việc này không còn ở trạng thái chờ xử lý.", code="task_not_ready")
    append_event(session, dossier, at=now, actor=actor.username, role=row.role, kind="task_completed", task=row.name,
                 task_id=row.id, data={**cleaned, "task_id": row.id})
    before = dossier.status
    system.engine.complete(_step(system, session, dossier, actor, row.role, now, pin), workflow, row.id, cleaned)
    _record_outcome(session, dossier, before, now, actor.username)
    citizen_documents.after_task(session, dossier, before, now)  # "Trả kết quả … chuyển về KDL"


def _record_outcome(session, dossier: Dossier, before: str, now, actor_name: str) -> None:
    if dossier.status == "cancelled" and before != "cancelled":
        append_event(session, dossier, at=now, actor=actor_name, role=None, kind="cancelled", data={})


def supplement(system, actor: User, code: str, upload: bytes | None, note: str | None,
               filename: str = "supplement.pdf") -> Dossier:
    """The citizen uploads what was asked for; the new scan replaces the one to certify; back to intake."""
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        if dossier is None or not can_view_dossier(actor, dossier):
            raise NotFound("Không có hồ sơ này.")
        if actor.id != dossier.applicant_id and not actor.has_role("one_stop"):
            raise Forbidden("Chỉ người nộp hồ sơ (hoặc Bộ phận một cửa, với hồ sơ không có tài khoản) "
                            "mới bổ sung được hồ sơ.")
        row = session.scalar(select(HumanTask).where(HumanTask.dossier_id == dossier.id,
                                                     HumanTask.name == "supplement"))
        if row is None:
            raise Conflict("Hồ sơ không ở bước chờ bổ sung.", code="task_not_ready")
        reason = may_work(actor, dossier, row)
        if reason:
            raise Forbidden(reason)
        task_id = row.id
    cleaned = validate_form("supplement", {"note": note} if note else {})
    info = inspect_upload(system, upload)
    sha = system.files.put(info.pdf)
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        row = _ready_row(session, dossier, task_id, actor)
        _replace_scan(session, dossier, info, sha, "supplement", filename, now)
        _run_task(system, session, dossier, row, actor, {**cleaned, "sha256": sha}, now)
    return dossier


def claim_task(system, actor: User, task_id: str, release: bool = False) -> HumanTask:
    with system.db.session() as session:
        code = _known_task_dossier(session, task_id)
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        row = session.get(HumanTask, task_id)
        if row is None:
            raise Conflict("Công việc này đã được xử lý, không còn chờ nữa.", code="task_not_ready")
        if row.role == "citizen" or not actor.has_role(row.role) or actor.agency_id != dossier.agency_id:
            raise Forbidden("Bạn không có vai trò xử lý công việc này tại cơ quan của hồ sơ.")
        if release:
            if row.assignee_id != actor.id:
                raise Conflict("Bạn không giữ công việc này.", code="not_assignee")
            row.assignee_id = None
        else:
            if row.assignee_id not in (None, actor.id):
                raise Conflict("Công việc này đã được người khác nhận.", code="already_claimed")
            row.assignee_id = actor.id
        append_event(session, dossier, at=now, actor=actor.username, role=row.role,
                     kind="released" if release else "claimed", task=row.name, task_id=row.id, data={})
        session.flush()
        session.refresh(row)
        return row

