"""Filing a dossier online, step by step (seed 000 part A): level → agency → procedure offered there → details and
the scanned original → confirmation (pages counted, fee shown) → the code and a receipt.

Without JavaScript each step is a plain form. The checked upload is kept in the content-addressed file store and
named in a signed draft token until the citizen confirms; a one-time key rendered into the form makes a repeated
confirmation file one dossier, not two. Nothing reaches the database before the confirmation."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import AppError, BadRequest, Unprocessable
from app.adapters.models import Agency
from app.services.dossiers import documents as citizen_documents
from app.services.dossiers import handling as dossier_service
from app.domain.fees import fee_for
from app.domain.procedures import LEVEL_NAMES, PROCEDURES
from app.web.common.auth import system
from app.web.citizen.common import error_page, one_time_key, page
from app.web.common.session import current_user, login_required

bp = Blueprint("filing", __name__)

LEVEL_TITLES = {
    "province": "Cấp tỉnh – Phòng Công chứng thuộc Sở Tư pháp",
    "district": "Cấp huyện – Phòng Tư pháp, Ủy ban nhân dân huyện",
    "commune": "Cấp xã – Ủy ban nhân dân xã, phường, thị trấn",
}
DOCUMENT_TYPES = ("Giấy khai sinh", "Căn cước công dân", "Chứng minh nhân dân", "Bằng tốt nghiệp", "Học bạ",
                  "Giấy chứng nhận kết hôn", "Giấy chứng nhận quyền sử dụng đất", "Hộ chiếu", "Giấy tờ khác")
FORM_FIELDS = ("document_type", "copies", "delivery", "payment", "postal_address", "postal_phone")
DRAFT_MAX_AGE = 24 * 3600


def _drafts() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="certcopy-citizen-filing")


def _agencies(session, level: str | None = None) -> list[Agency]:
    query = select(Agency).order_by(Agency.id)
    if level:
        query = query.where(Agency.level == level)
    return list(session.scalars(query))


def agency_label(agency: Agency) -> str:
    return f"{agency.name} ({agency.parent.name})" if agency.parent else agency.name


def _offered(agency: Agency) -> list[tuple[str, str]]:
    return [(code, p["name"]) for code, p in PROCEDURES.items() if agency.level in p["levels"]]


def _chosen(session, agency_ref: str | None, procedure: str | None) -> tuple[Agency, str]:
    """The agency and procedure of the form; a procedure not offered at the agency's level is refused (422)."""
    agency = session.scalar(select(Agency).where((Agency.slug == agency_ref) | (Agency.code == agency_ref))) \
        if agency_ref else None
    if agency is None:
        raise Unprocessable("Cần chọn cơ quan thực hiện.", code="unknown_agency",
                            details={"fields": {"agency": "Cần chọn cơ quan thực hiện."}})
    if procedure not in PROCEDURES:
        raise Unprocessable("Cần chọn thủ tục.", code="unknown_procedure",
                            details={"fields": {"procedure": "Cần chọn thủ tục."}})
    if agency.level not in PROCEDURES[procedure]["levels"]:
        message = f"Thủ tục {procedure} không thực hiện tại {agency.name}."
        raise Unprocessable(message, code="procedure_not_offered", details={"fields": {"procedure": message}})
    return agency, procedure


# -- step 1: level, agency, procedure --------------------------------------------------------------------------
@bp.get("/nop-ho-so")
@login_required("citizen")
def choose():
    level = request.args.get("level") or None
    agency_ref = request.args.get("agency") or None
    procedure = request.args.get("procedure") or None
    with system().db.session() as session:
        if level not in LEVEL_NAMES:
            level = None
        agencies = _agencies(session, level) if level else []
        agency = next((a for a in agencies if agency_ref in (a.slug, a.code)), None)
        context = dict(levels=LEVEL_TITLES, level=level, agencies=[(a.slug, agency_label(a)) for a in agencies],
                       agency=agency, procedures=_offered(agency) if agency else [], procedure=procedure,
                       step=1)
        if agency and procedure:
            try:
                _chosen(session, agency.slug, procedure)
            except AppError as exc:
                return error_page("citizen/file_choose.html", exc, **context)
            return redirect(url_for("citizen.filing.details", agency=agency.slug, procedure=procedure))
        return page("citizen/file_choose.html", **context)


# -- step 2: details and the scan ------------------------------------------------------------------------------
def _details_context(session, agency: Agency, procedure: str, form: dict | None = None, key: str | None = None):
    return dict(agency=agency, agency_name=agency_label(agency), procedure=procedure,
                procedure_title=PROCEDURES[procedure]["name"], applicant=current_user(),
                form=form or {"copies": "1", "delivery": "online", "payment": "online"},
                idempotency_key=key or one_time_key(), document_types=DOCUMENT_TYPES,
                stored_originals=citizen_documents.documents_of(session, current_user(), citizen_documents.ORIGINAL),
                max_mb=system().settings.max_upload_bytes // (1024 * 1024), step=2)


@bp.get("/nop-ho-so/thong-tin")
@login_required("citizen")
def details():
    with system().db.session() as session:
        try:
            agency, procedure = _chosen(session, request.args.get("agency"), request.args.get("procedure"))
        except AppError as exc:
            return error_page("citizen/file_choose.html", exc, levels=LEVEL_TITLES, level=None, agencies=[],
                              agency=None, procedures=[], procedure=None, step=1)
        return page("citizen/file_form.html", **_details_context(session, agency, procedure))


@bp.post("/nop-ho-so/thong-tin")
@login_required("citizen")
def check_details():
    user = current_user()
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    form["declaration"] = request.form.get("declaration", "")
    form["document_id"] = request.form.get("document_id", "").strip()
    key = request.form.get("idempotency_key") or one_time_key()
    upload = request.files.get("original")
    with system().db.session() as session:
        try:
            agency, procedure = _chosen(session, request.form.get("agency"), request.form.get("procedure"))
        except AppError as exc:
            return error_page("citizen/file_choose.html", exc, levels=LEVEL_TITLES, level=None, agencies=[],
                              agency=None, procedures=[], procedure=None, step=1)
        context = _details_context(session, agency, procedure, form, key)
        try:
            values = dossier_service.validate_filing(session, user, {**form, "agency": agency.code,
                                                                     "procedure": procedure})
            data = upload.read() if upload and upload.filename else None
            # "Lấy giấy tờ từ kho dữ liệu": a stored original instead of an upload, then checked the same way
            data, name = dossier_service.filing_source(system(), session, user, form, data,
                                                       (upload.filename if upload else "") or "ban-chinh.pdf")
            info = dossier_service.inspect_upload(system(), data)
        except AppError as exc:
            return error_page("citizen/file_form.html", exc, **context)
    sha = system().files.put(data)
    fee = fee_for(info.pages, values["copies"])
    draft = _drafts().dumps({"uid": user.id, "sha": sha, "name": (name or "ban-chinh.pdf")[:200],
                             "agency": agency.code, "procedure": procedure, "key": key,
                             **{name: form[name] for name in FORM_FIELDS}, "declaration": "true"})
    return page("citizen/file_confirm.html", draft=draft, agency_name=agency_label(agency), procedure=procedure,
                procedure_title=PROCEDURES[procedure]["name"], values=values, fee=fee, pages=info.pages,
                filename=name, size_mb=len(data) / (1024 * 1024), applicant=user, step=3,
                back=url_for("citizen.filing.details", agency=agency.slug, procedure=procedure))


# -- step 3: confirm -------------------------------------------------------------------------------------------
@bp.post("/nop-ho-so/xac-nhan")
@login_required("citizen")
def confirm():
    user = current_user()
    try:
        draft = _drafts().loads(request.form.get("draft", ""), max_age=DRAFT_MAX_AGE)
    except BadSignature:
        raise BadRequest("Phiên nộp hồ sơ đã hết hạn hoặc không hợp lệ; vui lòng nộp lại từ đầu.",
                         code="bad_draft") from None
    if draft.get("uid") != user.id or not system().files.exists(draft["sha"]):
        raise BadRequest("Phiên nộp hồ sơ không hợp lệ; vui lòng nộp lại từ đầu.", code="bad_draft")
    fields = {name: draft.get(name, "") for name in (*FORM_FIELDS, "agency", "procedure", "declaration")}
    data = system().files.get(draft["sha"])
    try:
        dossier, _ = dossier_service.submit_dossier(system(), user, fields, data, filename=draft["name"],
                                                    idempotency_key=draft["key"])
    except IntegrityError:  # the same confirmation raced itself: the other request filed it
        dossier, _ = dossier_service.submit_dossier(system(), user, fields, data, filename=draft["name"],
                                                    idempotency_key=draft["key"])
    return redirect(url_for("citizen.dossier", code=dossier.code, moi=1))
