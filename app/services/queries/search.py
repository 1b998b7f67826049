"""Dossier search (Tra cứu hồ sơ): the one search behind the staff search page and `GET /api/v1/dossiers`.

`q` is what a one-stop officer types at the counter: any part of
- the dossier code (`000.00.38.H03-240510-0006`, or just `0006`),
- the applicant's name (`Nguyễn Văn A`),
- the ID number (CCCD/CMND) of the applicant's account,
- the document to certify (`Giấy khai sinh`).
Words are matched separately, each anywhere in one of these fields, so `Nguyễn khai sinh` finds Nguyễn's birth
certificate; every word must match. Matching ignores letter case (on SQLite, for unaccented letters only). `%` and
`_` are plain characters, not wildcards. At most 100 characters: a longer `q` is a 400 `query_too_long`.

What a caller sees: an auditor every agency's dossiers, a citizen their own, staff their agency's. The newest
dossier comes first; results come a page at a time with the total count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, true

from app.adapters.models import STAFF_ROLES, Agency, Dossier, User
from app.errors import BadRequest, Forbidden
from app.services.queries.directory import agency_ref_matches
from app.services.unit_of_work import reading

MAX_QUERY = 100
MAX_PAGE_SIZE = 100
ESCAPE = "\\"


@dataclass(frozen=True)
class DossierHit:
    code: str
    status: str
    agency: str  # the agency's code
    applicant: str | None
    document_type: str
    submitted_at: datetime | None
    due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class SearchResult:
    items: list[DossierHit]
    page: int
    page_size: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


def query_terms(q: str | None) -> list[str]:
    """The words of `q`; a `q` longer than MAX_QUERY characters is refused."""
    q = (q or "").strip()
    if len(q) > MAX_QUERY:
        raise BadRequest(f"Từ khóa tìm kiếm quá dài: tối đa {MAX_QUERY} ký tự.", code="query_too_long",
                         details={"fields": {"q": f"tối đa {MAX_QUERY} ký tự"}})
    return q.split()


def like_pattern(term: str) -> str:
    """`%term%` with LIKE's own characters (`%`, `_` and the escape character) taken literally."""
    escaped = term.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def visible_to(user: User):
    """SQL condition: the dossiers `user` may find."""
    if user.has_role("auditor"):
        return true()
    if user.has_role("citizen"):
        return Dossier.applicant_id == user.id
    if user.agency_id is not None and any(user.has_role(r) for r in STAFF_ROLES):
        return Dossier.agency_id == user.agency_id
    raise Forbidden("Bạn không được xem danh sách hồ sơ.")


def search_dossiers(system, user: User, q: str | None = None, *, status: str | None = None,
                    agency: str | None = None, page: int = 1, page_size: int = 50) -> SearchResult:
    """One page of the dossiers `user` may see that match `q` (see the module's description), optionally of one
    `status` and one `agency` (code or slug)."""
    terms = query_terms(q)
    if page < 1:
        raise BadRequest("Tham số 'page' phải từ 1.", code="invalid_page")
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    conditions = [visible_to(user)]
    if status:
        conditions.append(Dossier.status == status)
    if agency:
        conditions.append(agency_ref_matches(agency))
    for term in terms:
        pattern = like_pattern(term)
        conditions.append(or_(*(column.ilike(pattern, escape=ESCAPE) for column in (
            Dossier.code, Dossier.applicant_name, User.id_number, Dossier.document_type))))

    def joined(query):
        query = query.select_from(Dossier).join(Agency, Dossier.agency_id == Agency.id)
        if terms:  # the ID number is the applicant account's
            query = query.outerjoin(User, Dossier.applicant_id == User.id)
        return query.where(*conditions)

    with reading(system) as session:
        total = session.scalar(joined(select(func.count(Dossier.id)))) or 0
        rows = session.execute(joined(select(Dossier.code, Dossier.status, Agency.code, Dossier.applicant_name,
                                             Dossier.document_type, Dossier.submitted_at, Dossier.due_at,
                                             Dossier.overdue))
                               .order_by(Dossier.id.desc()).offset((page - 1) * page_size).limit(page_size)).all()
    items = [DossierHit(code=code, status=state, agency=agency_code, applicant=applicant,
                        document_type=document_type, submitted_at=submitted_at, due_at=due_at, overdue=bool(overdue))
             for code, state, agency_code, applicant, document_type, submitted_at, due_at, overdue in rows]
    return SearchResult(items=items, page=page, page_size=page_size, total=total)
