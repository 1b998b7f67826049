"""Filing a dossier online, step by step: level → agency → procedure offered there → details and the scanned
original → confirmation (pages counted, fee shown) → the code and a receipt.

Without JavaScript each step is a plain form. The details step checks the fields and the scan and stores the scan
once; a signed draft token carries the stored original (never the file) to the confirmation, which files it
without checking or storing it again. A one-time key rendered into the form makes a repeated confirmation file
one dossier, not two. Nothing reaches the database before the confirmation."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.domain.procedures import LEVEL_NAMES, PROCEDURES
from app.errors import AppError, BadRequest
from app.services.dossiers import documents as citizen_documents
from app.services.dossiers.filing import file_dossier, filing_target, prepare_filing
from app.services.dossiers.uploads import StoredOriginal
from app.services.queries.agencies import AgencyChoice, agency_choices
from app.web.citizen.common import error_page, one_time_key, page
from app.web.common.auth import system
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
BAD_DRAFT = "Phiên nộp hồ sơ không hợp lệ; vui lòng nộp lại từ đầu."


def _drafts() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="certcopy-citizen-filing")


def _step_one(exc: AppError):
    return error_page("citizen/file_choose.html", exc, levels=LEVEL_TITLES, level=None, agencies=[], agency=None,
                      procedures=[], procedure=None, step=1)


# -- step 1: level, agency, procedure --------------------------------------------------------------------------
@bp.get("/nop-ho-so")
@login_required("citizen")
def choose():
    level = request.args.get("level") or None
    if level not in LEVEL_NAMES:
        level = None
    agency_ref = request.args.get("agency") or None
    procedure = request.args.get("procedure") or None
    agencies = agency_choices(system(), level) if level else []
    agency = next((a for a in agencies if agency_ref in (a.slug, a.code)), None)
    context = dict(levels=LEVEL_TITLES, level=level, agencies=[(a.slug, a.label) for a in agencies], agency=agency,
                   procedures=agency.procedures() if agency else [], procedure=procedure, step=1)
    if agency and procedure:
        try:
            filing_target(system(), agency.slug, procedure)
        except AppError as exc:
            return error_page("citizen/file_choose.html", exc, **context)
        return redirect(url_for("citizen.filing.details", agency=agency.slug, procedure=procedure))
    return page("citizen/file_choose.html", **context)


# -- step 2: details and the scan ------------------------------------------------------------------------------
def _details_context(agency: AgencyChoice, procedure: str, form: dict | None = None, key: str | None = None):
    return dict(agency=agency, agency_name=agency.label, procedure=procedure,
                procedure_title=PROCEDURES[procedure]["name"], applicant=current_user(),
                form=form or {"copies": "1", "delivery": "online", "payment": "online"},
                idempotency_key=key or one_time_key(), document_types=DOCUMENT_TYPES,
                stored_originals=citizen_documents.list_documents(system(), current_user(), citizen_documents.ORIGINAL),
                max_mb=system().settings.max_upload_bytes // (1024 * 1024), step=2)


@bp.get("/nop-ho-so/thong-tin")
@login_required("citizen")
def details():
    procedure = request.args.get("procedure")
    try:
        agency = filing_target(system(), request.args.get("agency"), procedure)
    except AppError as exc:
        return _step_one(exc)
    return page("citizen/file_form.html", **_details_context(agency, procedure))


@bp.post("/nop-ho-so/thong-tin")
@login_required("citizen")
def check_details():
    user = current_user()
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    form["declaration"] = request.form.get("declaration", "")
    form["document_id"] = request.form.get("document_id", "").strip()
    key = request.form.get("idempotency_key") or one_time_key()
    procedure = request.form.get("procedure")
    try:
        agency = filing_target(system(), request.form.get("agency"), procedure)
    except AppError as exc:
        return _step_one(exc)
    upload = request.files.get("original")
    data = upload.read() if upload and upload.filename else None
    try:
        # "Lấy giấy tờ từ kho dữ liệu": `document_id` names a stored original instead of an upload
        prepared = prepare_filing(system(), user, {**form, "agency": agency.code, "procedure": procedure}, data,
                                  (upload.filename if upload else "") or "ban-chinh.pdf")
    except AppError as exc:
        return error_page("citizen/file_form.html", exc, **_details_context(agency, procedure, form, key))
    draft = _drafts().dumps({"uid": user.id, "agency": agency.code, "procedure": procedure, "key": key,
                             **{name: form[name] for name in FORM_FIELDS}, "declaration": "true",
                             "original": prepared.original.as_dict()})
    original = prepared.original
    return page("citizen/file_confirm.html", draft=draft, agency_name=agency.label, procedure=procedure,
                procedure_title=PROCEDURES[procedure]["name"], values=prepared.values, fee=prepared.fee,
                pages=original.pages, filename=original.filename, size_mb=original.size / (1024 * 1024),
                applicant=user, step=3, back=url_for("citizen.filing.details", agency=agency.slug, procedure=procedure))


# -- step 3: confirm -------------------------------------------------------------------------------------------
@bp.post("/nop-ho-so/xac-nhan")
@login_required("citizen")
def confirm():
    user = current_user()
    try:
        draft = _drafts().loads(request.form.get("draft", ""), max_age=DRAFT_MAX_AGE)
        original = StoredOriginal.from_dict(draft["original"])
    except (BadSignature, KeyError, TypeError):
        raise BadRequest("Phiên nộp hồ sơ đã hết hạn hoặc không hợp lệ; vui lòng nộp lại từ đầu.",
                         code="bad_draft") from None
    if draft.get("uid") != user.id:
        raise BadRequest(BAD_DRAFT, code="bad_draft")
    fields = {name: draft.get(name, "") for name in (*FORM_FIELDS, "agency", "procedure", "declaration")}
    dossier, _ = file_dossier(system(), user, fields, original=original, idempotency_key=draft["key"])
    return redirect(url_for("citizen.dossier", code=dossier.code, moi=1))
