"""Kho dữ liệu của công dân (KDL): the citizen's own document store.

The original a citizen files online is kept there ("Lấy giấy tờ từ KDL" files it again without a new scan), and
the certified copy the one-stop desk returns is put there ("Trả kết quả … chuyển về KDL"). Files are the
content-addressed ones the dossiers already use; a row only names a file for a citizen. Every change happens in
the caller's unit of work; the same file of the same kind is kept once per citizen."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from app.errors import Forbidden, NotFound, Unprocessable
from app.adapters.models import CitizenDocument, Document, Dossier, User
from app.services.unit_of_work import reading, unit_of_work

ORIGINAL, CERTIFIED_COPY = "original", "certified_copy"
KINDS = (ORIGINAL, CERTIFIED_COPY)
KIND_NAMES = {ORIGINAL: "Bản chính (bản scan)", CERTIFIED_COPY: "Bản sao có chứng thực"}


# -- rules ---------------------------------------------------------------------------------------------------
def has_store(user: User | None) -> bool:
    """Only a citizen's account has a document store (a walk-in known by e-mail has none)."""
    return user is not None and user.has_role("citizen")


def saves_original_at_filing(actor: User) -> bool:
    """The original goes to the store when the citizen files online themselves."""
    return has_store(actor)


def saves_result_at_return(dossier: Dossier, before: str) -> bool:
    """The certified copy goes to the applicant's store when the dossier reaches `returned`."""
    return (dossier.status == "returned" and before != "returned" and dossier.applicant_id is not None
            and dossier.result_sha256 is not None)


def fileable_problem(document: CitizenDocument | None, user: User) -> tuple[str, str] | None:
    """Why a stored document cannot be filed as the original by this user: (code, message), or None."""
    if document is None or document.citizen_id != user.id:
        return "unknown_document", "Không có giấy tờ này trong kho dữ liệu của bạn."
    if document.kind != ORIGINAL:
        return "not_an_original", "Giấy tờ này là bản sao có chứng thực, không phải bản chính: hãy chọn bản chính."
    return None


def parse_document_id(raw) -> int | None:
    """The `document_id` of a filing: None when absent; a positive integer; anything else is refused (422)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise Unprocessable("Mã giấy tờ trong kho dữ liệu không hợp lệ.", code="invalid_field",
                            details={"fields": {"document_id": "Mã giấy tờ trong kho dữ liệu không hợp lệ."}})
    return value


# -- filling the store ---------------------------------------------------------------------------------------
def _insert_once(session: Session, values: dict) -> None:
    """Insert a row unless the citizen already has that file of that kind (also when two requests race)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CitizenDocument).values(**values).on_conflict_do_nothing(
        index_elements=["citizen_id", "kind", "sha256"])
    session.execute(stmt)


def save_original(session: Session, citizen: User, dossier: Dossier, sha256: str, size: int, pages: int | None,
                  filename: str, now: datetime) -> None:
    """The original the citizen filed online, in their store (kind original, titled by the document type)."""
    _insert_once(session, dict(citizen_id=citizen.id, kind=ORIGINAL, title=dossier.document_type[:255],
                               sha256=sha256, size=size, pages=pages, filename=(filename or "ban-chinh.pdf")[:255],
                               dossier_id=dossier.id, certification_number=None, created_at=now))


def save_result(session: Session, dossier: Dossier, now: datetime) -> None:
    """The certified copy of a returned dossier, in the applicant's store (with its certification number)."""
    copy = session.scalar(select(Document).where(Document.dossier_id == dossier.id,
                                                 Document.kind == CERTIFIED_COPY,
                                                 Document.sha256 == dossier.result_sha256))
    size = copy.size if copy is not None else 0
    _insert_once(session, dict(citizen_id=dossier.applicant_id, kind=CERTIFIED_COPY,
                               title=dossier.document_type[:255], sha256=dossier.result_sha256, size=size,
                               pages=copy.pages if copy is not None else dossier.pages,
                               filename=(copy.filename if copy is not None else f"{dossier.code}.pdf")[:255],
                               dossier_id=dossier.id, certification_number=dossier.certification_number,
                               created_at=now))


def after_task(session: Session, dossier: Dossier, before: str, now: datetime) -> None:
    """Called after every completed task, in its transaction: a dossier just returned sends its copy to the store."""
    if saves_result_at_return(dossier, before):
        save_result(session, dossier, now)


def result_saved(session: Session, dossier: Dossier) -> bool:
    """Whether the dossier's certified copy is in its applicant's store."""
    if dossier.applicant_id is None or not dossier.result_sha256:
        return False
    return session.scalar(select(CitizenDocument.id).where(
        CitizenDocument.citizen_id == dossier.applicant_id, CitizenDocument.kind == CERTIFIED_COPY,
        CitizenDocument.dossier_id == dossier.id)) is not None


# -- using the store -----------------------------------------------------------------------------------------
def require_store(user: User) -> None:
    if not has_store(user):
        raise Forbidden("Chỉ công dân có tài khoản mới có kho dữ liệu.")


def documents_of(session: Session, user: User, kind: str | None = None) -> list[CitizenDocument]:
    """The user's stored documents, newest first."""
    query = select(CitizenDocument).options(joinedload(CitizenDocument.dossier)).where(
        CitizenDocument.citizen_id == user.id)
    if kind:
        query = query.where(CitizenDocument.kind == kind)
    return list(session.scalars(query.order_by(CitizenDocument.created_at.desc(), CitizenDocument.id.desc())))


def own_document(session: Session, user: User, document_id: int) -> CitizenDocument:
    """One of the user's own documents; another citizen's or an unknown id is 404."""
    row = session.get(CitizenDocument, document_id)
    if row is None or row.citizen_id != user.id:
        raise NotFound("Không có giấy tờ này trong kho dữ liệu của bạn.", code="unknown_document")
    return row


def document_view(row: CitizenDocument) -> dict:
    return {"id": row.id, "kind": row.kind, "title": row.title, "size": row.size, "pages": row.pages,
            "filename": row.filename, "dossier": row.dossier.code if row.dossier else None,
            "certification_number": row.certification_number, "created_at": row.created_at.isoformat()}


def list_documents(system, user: User, kind: str | None = None) -> list[dict]:
    """The user's stored documents (of one `kind`, if given), newest first."""
    require_store(user)
    with reading(system) as session:
        return [document_view(row) for row in documents_of(session, user, kind)]


def document_file(system, user: User, document_id: int) -> tuple[bytes, str]:
    """The stored PDF and its file name."""
    require_store(user)
    with reading(system) as session:
        row = own_document(session, user, document_id)
        sha, filename = row.sha256, row.filename
    if not system.files.exists(sha):
        raise NotFound("Tệp của giấy tờ này không còn trong kho.", code="missing_file_content")
    return system.files.get(sha), filename


def delete_document(system, user: User, document_id: int) -> None:
    """Remove a document from the store; the dossier's own copy (and the file) stays."""
    require_store(user)
    with unit_of_work(system) as session:
        session.delete(own_document(session, user, document_id))


def original_for_filing(system, session: Session, user: User, document_id: int) -> tuple[bytes, str]:
    """The bytes and file name of a stored original the user files again ("Lấy giấy tờ từ KDL")."""
    row = session.get(CitizenDocument, document_id)
    problem = fileable_problem(row, user) if has_store(user) else (
        "invalid_field", "Chỉ công dân mới nộp hồ sơ từ kho dữ liệu của mình.")
    if problem is None and not system.files.exists(row.sha256):
        problem = ("unknown_document", "Tệp của giấy tờ này không còn trong kho.")
    if problem is not None:
        code, message = problem
        raise Unprocessable(message, code=code, details={"fields": {"document_id": message}})
    return system.files.get(row.sha256), row.filename
