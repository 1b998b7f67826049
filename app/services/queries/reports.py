"""Statistics per agency and period: what was filed, received, returned (on time or late), refused, cancelled,
the average processing time in working hours and the fees collected; as a table, an SVG chart and an Excel file.

Definitions (each dossier counts in the period in which the thing happened, Vietnam time, dates inclusive):
- filed: submitted_at in the period; received: received_at (accepted at intake) in the period;
- returned / refused / cancelled: finished with that status, finished_at in the period;
- on time: returned with finished_at <= due_at; late: returned after due_at;
- processing time: working hours (the agency's calendar) from received_at to finished_at of the returned dossiers;
- fees collected: the fee of the returned dossiers whose fee was paid (it is settled at the latest at return).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from markupsafe import escape
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import clock
from app.adapters.spreadsheets import text_safe_row
from app.errors import AppError, Forbidden, Unprocessable
from app.adapters.models import Agency, Dossier, User
from app.services.administration.calendars import calendar_for
from app.domain.calendar import VN_TZ
from app.services.queries.directory import agency_ref_matches
from app.services.unit_of_work import reading

MAX_DAYS = 3 * 366
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2}
COLUMNS = (
    # key, Vietnamese header, Excel number format
    ("filed", "Đã nộp", "#,##0"),
    ("received", "Đã tiếp nhận", "#,##0"),
    ("returned", "Đã trả kết quả", "#,##0"),
    ("on_time", "Trả đúng hạn", "#,##0"),
    ("late", "Trả quá hạn", "#,##0"),
    ("refused", "Từ chối", "#,##0"),
    ("cancelled", "Đã hủy", "#,##0"),
    ("average_hours", "Thời gian xử lý trung bình (giờ làm việc)", "0.0"),
    ("fees_vnd", "Lệ phí đã thu (đồng)", "#,##0"),
)


@dataclass
class Period:
    start: date
    end: date

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, end+1 00:00) in Vietnam time."""
        return (datetime.combine(self.start, time(), VN_TZ),
                datetime.combine(self.end + timedelta(days=1), time(), VN_TZ))

    def label(self) -> str:
        return f"Từ ngày {self.start:%d/%m/%Y} đến ngày {self.end:%d/%m/%Y}"


@dataclass
class AgencyStats:
    code: str
    name: str
    filed: int = 0
    received: int = 0
    returned: int = 0
    on_time: int = 0
    late: int = 0
    refused: int = 0
    cancelled: int = 0
    fees_vnd: int = 0
    hours: list[float] = field(default_factory=list)

    @property
    def average_hours(self) -> float | None:
        return round(sum(self.hours) / len(self.hours), 1) if self.hours else None

    def add(self, other: AgencyStats) -> None:
        for key in ("filed", "received", "returned", "on_time", "late", "refused", "cancelled", "fees_vnd"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.hours.extend(other.hours)

    def as_dict(self) -> dict:
        return {"agency": self.code, "name": self.name, **{k: getattr(self, k) for k, _, _ in COLUMNS}}


@dataclass
class Report:
    period: Period
    rows: list[AgencyStats]
    total: AgencyStats
    series: list[dict]          # chart buckets: {"label", "received", "on_time", "late"}
    bucket: str                 # day | week | month
    generated_at: datetime

    def as_dict(self) -> dict:
        return {"from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
                "agencies": [r.as_dict() for r in self.rows], "total": self.total.as_dict(),
                "series": self.series, "bucket": self.bucket, "generated_at": self.generated_at.isoformat()}


# -- input ----------------------------------------------------------------------------------------------
def _date(value: str | None, field_name: str, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        label = "Từ ngày" if field_name == "from" else "Đến ngày"
        raise Unprocessable(f"{label} phải là ngày dạng YYYY-MM-DD.", code="invalid_field",
                            details={"fields": {field_name: "invalid"}}) from None


def parse_period(start: str | None, end: str | None, today: date | None = None) -> Period:
    today = today or clock.now().astimezone(VN_TZ).date()
    period = Period(_date(start, "from", today.replace(day=1)), _date(end, "to", today))
    if period.end < period.start:
        raise Unprocessable("'Đến ngày' không được trước 'Từ ngày'.", code="invalid_period",
                            details={"fields": {"to": "before_from"}})
    if (period.end - period.start).days > MAX_DAYS:
        raise Unprocessable("Khoảng thời gian báo cáo tối đa 3 năm.", code="invalid_period",
                            details={"fields": {"from": "too_long"}})
    return period


def may_report(user: User) -> bool:
    return user.has_role("admin") or user.has_role("auditor") or user.has_role("leader")


def reportable_agencies(session: Session, user: User, ref: str | None = None) -> list[Agency]:
    """Administrators and auditors: every agency (or the one asked for); a leader: their own agency."""
    if not may_report(user):
        raise Forbidden("Bạn không được xem báo cáo thống kê.")
    query = select(Agency)
    if not (user.has_role("admin") or user.has_role("auditor")):
        query = query.where(Agency.id == user.agency_id)
    if ref:
        query = query.where(agency_ref_matches(ref))
    agencies = sorted(session.scalars(query), key=lambda a: (LEVEL_ORDER.get(a.level, 9), a.name))
    if ref and not agencies:
        raise Unprocessable(f"Không có cơ quan '{ref}' (hoặc bạn không được xem báo cáo của cơ quan này).",
                            code="unknown_agency", details={"fields": {"agency": "unknown"}})
    return agencies


# -- computing --------------------------------------------------------------------------------------------
def _within(moment: datetime | None, lo: datetime, hi: datetime) -> bool:
    return moment is not None and lo <= moment < hi


def _bucket_kind(period: Period) -> str:
    days = (period.end - period.start).days + 1
    return "day" if days <= 62 else "week" if days <= 366 else "month"


def _bucket_key(day: date, kind: str) -> date:
    if kind == "day":
        return day
    if kind == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _bucket_label(key: date, kind: str) -> str:
    return {"day": f"{key:%d/%m}", "week": f"Tuần {key:%d/%m}", "month": f"{key:%m/%Y}"}[kind]


def _buckets(period: Period, kind: str) -> list[date]:
    keys, day = [], period.start
    while day <= period.end:
        key = _bucket_key(day, kind)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def build_report(session: Session, agencies: list[Agency], period: Period) -> Report:
    lo, hi = period.bounds
    calendars = {a.id: calendar_for(session, a.id) for a in agencies}  # each agency's own working calendar
    stats = {a.id: AgencyStats(a.code, a.name) for a in agencies}
    kind = _bucket_kind(period)
    series = {key: {"label": _bucket_label(key, kind), "received": 0, "on_time": 0, "late": 0}
              for key in _buckets(period, kind)}
    columns = (Dossier.agency_id, Dossier.status, Dossier.submitted_at, Dossier.received_at, Dossier.due_at,
               Dossier.finished_at, Dossier.fee_amount, Dossier.fee_paid)
    query = select(*columns).where(Dossier.agency_id.in_(list(stats)), or_(
        Dossier.submitted_at.between(lo, hi), Dossier.received_at.between(lo, hi),
        Dossier.finished_at.between(lo, hi)))
    for agency_id, status, submitted, received, due, finished, fee, paid in session.execute(query):
        row = stats[agency_id]
        if _within(submitted, lo, hi):
            row.filed += 1
        if _within(received, lo, hi):
            row.received += 1
            series[_bucket_key(received.astimezone(VN_TZ).date(), kind)]["received"] += 1
        if not _within(finished, lo, hi):
            continue
        if status == "returned":
            row.returned += 1
            on_time = due is None or finished <= due
            row.on_time += on_time
            row.late += not on_time
            series[_bucket_key(finished.astimezone(VN_TZ).date(), kind)]["on_time" if on_time else "late"] += 1
            if received is not None:
                row.hours.append(calendars[agency_id].working_hours_between(received, finished))
            if paid:
                row.fees_vnd += fee or 0
        elif status == "refused":
            row.refused += 1
        elif status == "cancelled":
            row.cancelled += 1
    rows = [stats[a.id] for a in agencies]
    total = AgencyStats("", "Tổng cộng")
    for row in rows:
        total.add(row)
    return Report(period, rows, total, list(series.values()), kind, clock.now())


# -- the chart (server-rendered SVG: no script, no CDN) ----------------------------------------------------
CHART_SERIES = (("received", "Tiếp nhận", "#0b4f9c"), ("on_time", "Trả đúng hạn", "#2e7d32"),
                ("late", "Trả quá hạn", "#c62828"))


@dataclass
class ReportPage:
    choices: list[dict]             # {code, name} of the agencies the caller may report on
    report: Report | None
    error: AppError | None          # why the asked-for report was refused (the choices are still offered)


def report_page(system, user: User, start: str | None, end: str | None, agency_ref: str | None) -> ReportPage:
    with reading(system) as session:
        choices = [{"code": a.code, "name": a.name} for a in reportable_agencies(session, user)]
        try:
            period = parse_period(start, end)
            report = build_report(session, reportable_agencies(session, user, agency_ref), period)
        except AppError as exc:
            return ReportPage(choices, None, exc)
    return ReportPage(choices, report, None)


def chart_svg(report: Report, width: int = 900, height: int = 300) -> str:
    left, right, top, bottom = 44, 10, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    buckets = report.series or [{"label": "", "received": 0, "on_time": 0, "late": 0}]
    peak = max([1] + [b[k] for b in buckets for k, _, _ in CHART_SERIES])
    step = _nice_step(peak)
    top_value = step * -(-peak // step)
    slot = plot_w / len(buckets)
    bar = max(1.0, min(18.0, slot / (len(CHART_SERIES) + 1)))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'class="rs-chart" aria-labelledby="chart-title">',
           f'<title id="chart-title">Hồ sơ tiếp nhận và trả kết quả theo {_BUCKET_NAMES[report.bucket]}</title>']
    for i, (_, label, color) in enumerate(CHART_SERIES):
        x = left + i * 150
        out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{color}"/>'
                   f'<text x="{x + 17}" y="18" font-size="12">{escape(label)}</text>')
    value = 0
    while value <= top_value:
        y = top + plot_h - plot_h * value / top_value
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d5dbe3"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{value}</text>')
        value += step
    label_every = max(1, int(len(buckets) / (plot_w / 48)) + 1)
    for i, bucket in enumerate(buckets):
        x0 = left + i * slot + (slot - bar * len(CHART_SERIES)) / 2
        for j, (key, label, color) in enumerate(CHART_SERIES):
            h = plot_h * bucket[key] / top_value
            tip = f'{escape(bucket["label"])} – {escape(label)}: {bucket[key]}'
            out.append(f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                       f'fill="{color}"><title>{tip}</title></rect>')
        if i % label_every == 0:
            out.append(f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                       f'text-anchor="middle">{escape(bucket["label"])}</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#5b6775"/>')
    out.append("</svg>")
    return "".join(out)


_BUCKET_NAMES = {"day": "ngày", "week": "tuần", "month": "tháng"}


def _nice_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if peak / step <= 6:
            return step
    return 10 ** len(str(peak))


# -- Excel ------------------------------------------------------------------------------------------------
def report_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    book = Workbook()
    sheet = book.active
    sheet.title = "Thống kê"
    last_col = get_column_letter(3 + len(COLUMNS))
    sheet.append(["BÁO CÁO THỐNG KÊ CHỨNG THỰC BẢN SAO ĐIỆN TỬ TỪ BẢN CHÍNH"])
    sheet.merge_cells(f"A1:{last_col}1")
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([report.period.label()])
    sheet.merge_cells(f"A2:{last_col}2")
    sheet["A2"].alignment = Alignment(horizontal="center")
    sheet.append(["Ngày lập báo cáo", report.generated_at.astimezone(VN_TZ).replace(tzinfo=None)])
    sheet["B3"].number_format = "DD/MM/YYYY HH:MM"
    sheet["B3"].alignment = Alignment(horizontal="left")
    sheet.append([])
    sheet.append(["STT", "Cơ quan", "Mã cơ quan", *[label for _, label, _ in COLUMNS]])
    header = sheet.max_row
    for cell in sheet[header]:
        cell.font, cell.border = Font(bold=True), box
        cell.fill = PatternFill("solid", fgColor="DDE6F2")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    sheet.row_dimensions[header].height = 48
    for stt, row in enumerate(report.rows, start=1):
        _stats_row(sheet, [stt, row.name, row.code], row, box)
    _stats_row(sheet, ["", report.total.name, ""], report.total, box, bold=True)
    for column, width in zip("ABC", (6, 44, 16)):
        sheet.column_dimensions[column].width = width
    for i in range(len(COLUMNS)):
        sheet.column_dimensions[get_column_letter(4 + i)].width = 14 if i < len(COLUMNS) - 2 else 20
    sheet.freeze_panes = sheet.cell(row=header + 1, column=3)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _stats_row(sheet, head: list, stats: AgencyStats, box, bold: bool = False) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.append(text_safe_row(sheet, [*head, *[getattr(stats, key) for key, _, _ in COLUMNS]]))
    cells = sheet[sheet.max_row]
    for cell in cells:
        cell.border = box
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True)
    for cell, (_, _, fmt) in zip(cells[3:], COLUMNS):
        cell.number_format = fmt


def report_for(system, user: User, agency_ref: str | None, period: Period) -> Report:
    """The statistics of the agencies `user` may report on (or the one named) over `period`."""
    with reading(system) as session:
        return build_report(session, reportable_agencies(session, user, agency_ref), period)
