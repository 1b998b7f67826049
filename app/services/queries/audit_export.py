"""Searching the audit events across dossiers and exporting them to CSV and Excel (read-only)."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select

from app.adapters.spreadsheets import csv_value, text_safe_row
from app.engine.audit import EVENT_KINDS
from app.errors import BadRequest, Unprocessable
from app.adapters.models import Agency, Dossier, Event, ProcessVersion
from app.domain.calendar import VN_TZ
from app.services.queries.directory import agency_ref_matches
from app.domain.procedures import ROLE_NAMES
from app.services.queries.views import event_view
from app.services.unit_of_work import reading

PAGE_SIZE = 50
MAX_EXPORT_ROWS = 100_000
KIND_NAMES = {
    "submitted": "Nộp hồ sơ",
    "task_completed": "Hoàn thành công việc",
    "service_completed": "Bước tự động",
    "timer_fired": "Hẹn giờ kích hoạt",
    "notified": "Gửi thông báo",
    "migrated": "Chuyển phiên bản quy trình",
    "cancelled": "Hủy hồ sơ",
    "claimed": "Nhận việc",
    "released": "Trả lại việc",
}
COLUMNS = ["Mã hồ sơ", "Cơ quan", "STT sự kiện", "Thời điểm", "Người thực hiện", "Vai trò", "Loại sự kiện",
           "Công việc", "Dữ liệu", "Phiên bản quy trình", "Mã băm (SHA-256)"]


@dataclass(frozen=True)
class EventFilter:
    agency: str | None = None
    actor: str | None = None
    kind: str | None = None
    task: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    dossier: str | None = None

    @classmethod
    def from_args(cls, args) -> EventFilter:
        def text(name):
            value = (args.get(name) or "").strip()
            return value or None

        kind = text("kind")
        if kind and kind not in EVENT_KINDS:
            raise BadRequest(f"Loại sự kiện '{kind}' không có (có: {', '.join(EVENT_KINDS)}).", code="invalid_kind")
        start = _moment(text("from"), "from", end_of_day=False)
        end = _moment(text("to"), "to", end_of_day=True)
        if start and end and start > end:
            raise BadRequest("Khoảng thời gian không hợp lệ: 'từ ngày' sau 'đến ngày'.", code="invalid_period")
        return cls(text("agency"), text("actor"), kind, text("task"), start, end, text("dossier"))

    def as_args(self) -> dict:
        out = {}
        for name in ("agency", "actor", "kind", "task", "dossier"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.start:
            out["from"] = self.start.astimezone(VN_TZ).isoformat()
        if self.end:
            out["to"] = self.end.astimezone(VN_TZ).isoformat()
        return out


def _moment(raw: str | None, name: str, end_of_day: bool) -> datetime | None:
    """A date (YYYY-MM-DD, Vietnam time; 'to' includes the whole day) or an ISO-8601 moment."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.min, VN_TZ)
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else moment
        moment = datetime.fromisoformat(raw)
    except ValueError:
        label = "từ ngày" if name == "from" else "đến ngày"
        raise BadRequest(f"'{label}' ({name}) phải là ngày YYYY-MM-DD hoặc thời điểm ISO-8601.",
                         code="invalid_parameter") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def page_arg(args) -> int:
    try:
        page = int(args.get("page", 1))
    except (TypeError, ValueError):
        raise BadRequest("Tham số 'page' phải là số nguyên.", code="invalid_page") from None
    if page < 1:
        raise BadRequest("Tham số 'page' phải từ 1.", code="invalid_page")
    return page


def _query(f: EventFilter):
    query = (select(Event, Dossier.code, Agency.code, Agency.name, ProcessVersion.version)
             .join(Dossier, Event.dossier_id == Dossier.id)
             .join(Agency, Dossier.agency_id == Agency.id)
             .join(ProcessVersion, Event.process_version_id == ProcessVersion.id))
    if f.agency:
        query = query.where(agency_ref_matches(f.agency))
    if f.actor:
        query = query.where(Event.actor == f.actor)
    if f.kind:
        query = query.where(Event.kind == f.kind)
    if f.task:
        query = query.where(Event.task == f.task)
    if f.dossier:
        query = query.where(Dossier.code == f.dossier)
    if f.start:
        query = query.where(Event.at >= f.start)
    if f.end:
        query = query.where(Event.at <= f.end)
    return query


def search(session, f: EventFilter, page: int = 1, page_size: int = PAGE_SIZE):
    query = _query(f)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(Event.at.desc(), Event.id.desc())
                           .offset((page - 1) * page_size).limit(page_size)).all()
    return rows, total


def event_search(system, f: EventFilter | None, page: int = 1) -> tuple[list[dict], int, list[Agency]]:
    """The auditor's search page: one page of the events matching `f` (as `row_view`s, newest first; none when
    there is no filter, e.g. a refused one), how many match, and the agencies to filter by."""
    with reading(system) as session:
        rows, total = search(session, f, page) if f is not None else ([], 0)
        agencies = list(session.scalars(select(Agency).order_by(Agency.name)))
    return [row_view(r) for r in rows], total, agencies


def row_view(row) -> dict:
    event, code, agency_code, agency_name, version = row
    return {"dossier": code, "agency": agency_code, "agency_name": agency_name, "seq": event.seq,
            "at": event.at.isoformat(), "actor": event.actor, "role": event.role, "kind": event.kind,
            "kind_name": KIND_NAMES.get(event.kind, event.kind), "task": event.task, "data": event.data,
            "process_version": version, "hash": event.hash}


def _export_rows(session, f: EventFilter):
    query = _query(f)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    if total > MAX_EXPORT_ROWS:
        raise Unprocessable(f"Có {total} sự kiện, quá giới hạn xuất {MAX_EXPORT_ROWS}: hãy thu hẹp điều kiện lọc.",
                            code="export_too_large")
    for row in session.execute(query.order_by(Dossier.code, Event.seq).execution_options(yield_per=1000)):
        event, code, _agency_code, agency_name, version = row
        yield [code, agency_name, event.seq, event.at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S"), event.actor,
               ROLE_NAMES.get(event.role or "", event.role or ""), KIND_NAMES.get(event.kind, event.kind),
               event.task or "", json.dumps(event.data, ensure_ascii=False, sort_keys=True), version, event.hash]


def to_csv(session, f: EventFilter) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COLUMNS)
    for row in _export_rows(session, f):
        writer.writerow([csv_value(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV with Vietnamese intact


def to_xlsx(session, f: EventFilter) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Nhật ký")
    from openpyxl.cell import WriteOnlyCell

    header = []
    for title in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in _export_rows(session, f):
        sheet.append(text_safe_row(sheet, row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# -- reads for callers without a session ------------------------------------------------------------------------
def search_page(system, f: EventFilter, page: int = 1, page_size: int = PAGE_SIZE) -> tuple[list[dict], int]:
    """One page of the matching events, newest first, and how many match."""
    with reading(system) as session:
        rows, total = search(session, f, page, page_size)
        return [row_view(r) for r in rows], total


def event_list(system, f: EventFilter, page: int = 1, page_size: int = PAGE_SIZE) -> list[dict]:
    """GET /audit/events: one page of the matching events, oldest first, in the API's event shape with the
    dossier's code."""
    with reading(system) as session:
        rows = session.execute(_query(f).order_by(Event.at, Event.id).offset((page - 1) * page_size)
                               .limit(page_size)).all()
        return [{**event_view(event), "dossier": code} for event, code, *_ in rows]


def export(system, f: EventFilter, fmt: str) -> tuple[bytes, str]:
    """The matching events as a file: (content, MIME type); `fmt` is csv or xlsx."""
    if fmt not in ("csv", "xlsx"):
        raise BadRequest("Định dạng xuất phải là 'csv' hoặc 'xlsx'.", code="invalid_format")
    with reading(system) as session:
        if fmt == "csv":
            return to_csv(session, f), "text/csv; charset=utf-8"
        return to_xlsx(session, f), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
