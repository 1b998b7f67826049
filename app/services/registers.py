"""Certification registers (sổ chứng thực): the legal record of every certified copy.

A register has a name typed by the clerk (`01/2024`; the system adds `-SCTĐT/BS`), a start number and opening
and closing dates. Numbers are `{n}/ĐT`, from the start number up, with no gap and no duplicate: the seal step
takes the next number under a row lock on the register, in the dossier's transaction, so a failed seal uses no
number. Once a register has entries, what was printed on sealed copies (name, start number) can no longer change.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from app import clock
from app.adapters.spreadsheets import text_safe_row
from app.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from app.adapters.models import STAFF_ROLES, Agency, Dossier, Register, RegisterEntry, User
from app.domain.calendar import VN_TZ
from app.services.queries.directory import agency_ref_matches
from app.services.unit_of_work import reading, unit_of_work

SUFFIX = "-SCTĐT/BS"
NUMBER_SUFFIX = "/ĐT"
MAX_NAME = 40
MAX_START_NUMBER = 1_000_000_000
NAME_RE = re.compile(r"^[\w][\w ./()-]*$")
FIELDS = ("name", "start_number", "opened_on", "closes_on", "status", "closed")


def number_label(number: int | None) -> str:
    return f"{number}{NUMBER_SUFFIX}" if number is not None else ""


def today_vn(now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(VN_TZ).date()


# -- locking and the seal step ------------------------------------------------------------------------
def lock_register(session: Session, register_id: int) -> Register | None:
    """Lock one register's row for the rest of the transaction and return it fresh.

    PostgreSQL: SELECT … FOR UPDATE. SQLite: a write to the row first takes the database write lock, so the
    read that follows cannot see a stale snapshot (a no-op when the caller already holds the dossier lock).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Register).where(Register.id == register_id)
                        .values(next_number=Register.next_number))
        query = select(Register).where(Register.id == register_id)
    else:
        query = select(Register).where(Register.id == register_id).with_for_update(of=Register)
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def is_usable(register: Register, agency_id: int, today: date) -> bool:
    return (register.agency_id == agency_id and not register.closed
            and register.opened_on <= today <= register.closes_on)


def check_register_open(register: Register | None, agency_id: int, today: date) -> Register:
    if register is None or register.agency_id != agency_id:
        raise Unprocessable("Sổ chứng thực không tồn tại ở cơ quan này.", code="unknown_register")
    if register.closed:
        raise Unprocessable(f"Sổ chứng thực {register.full_name} đã đóng.", code="register_closed")
    if today < register.opened_on:
        raise Unprocessable(f"Sổ chứng thực {register.full_name} chưa đến ngày mở sổ "
                            f"({register.opened_on:%d/%m/%Y}).", code="register_closed")
    if today > register.closes_on:
        raise Unprocessable(f"Sổ chứng thực {register.full_name} đã quá ngày đóng sổ "
                            f"({register.closes_on:%d/%m/%Y}).", code="register_closed")
    return register


def usable_registers(session: Session, agency_id: int, today: date) -> list[Register]:
    """The registers the clerk may choose at the seal step: open, of the agency, within their dates."""
    return list(session.scalars(select(Register).where(
        Register.agency_id == agency_id, Register.closed.is_(False), Register.opened_on <= today,
        Register.closes_on >= today).order_by(Register.opened_on, Register.id)))


def take_number(session: Session, register: Register) -> int:
    """The next certification number of a register the caller has locked; the register moves on by one.

    Called inside the seal's transaction: if anything after it fails, the rollback gives the number back.
    """
    number = register.next_number
    clash = session.scalar(select(RegisterEntry.id).where(RegisterEntry.register_id == register.id,
                                                          RegisterEntry.number == number))
    if clash is not None:  # never expected: the register's counter and its entries disagree
        raise Conflict(f"Số {number_label(number)} của sổ {register.full_name} đã được cấp; sổ cần kiểm tra lại.",
                       code="register_inconsistent")
    register.next_number = number + 1
    return number


def record_entry(session: Session, register: Register, number: int, dossier: Dossier, at: datetime) -> RegisterEntry:
    entry = RegisterEntry(register_id=register.id, number=number, dossier_id=dossier.id,
                          applicant_name=dossier.applicant_name, document_type=dossier.document_type,
                          certified_at=at, signer_name=dossier.signed_by.full_name if dossier.signed_by else "")
    session.add(entry)
    return entry


# -- who may see and change a register ------------------------------------------------------------------
def may_read(user: User, register: Register) -> bool:
    if user.has_role("auditor") or user.has_role("admin"):
        return True
    return user.agency_id == register.agency_id and any(user.has_role(r) for r in STAFF_ROLES)


def require_manager(user: User) -> Agency | int:
    """The clerk keeps the registers of their own agency."""
    if not user.has_role("clerk") or user.agency_id is None:
        raise Forbidden("Chỉ văn thư của cơ quan mới quản lý được sổ chứng thực.")
    return user.agency_id


def visible_query(user: User, agency_code: str | None = None):
    query = select(Register).join(Agency, Register.agency_id == Agency.id)
    if user.has_role("auditor") or user.has_role("admin"):
        if agency_code:
            query = query.where(agency_ref_matches(agency_code))
        return query
    if user.agency_id is None or not any(user.has_role(r) for r in STAFF_ROLES):
        raise Forbidden("Bạn không được xem sổ chứng thực.")
    return query.where(Register.agency_id == user.agency_id)


def get_visible(session: Session, user: User, register_id: int) -> Register:
    register = session.get(Register, register_id)
    if register is None or not may_read(user, register):
        raise NotFound("Không có sổ chứng thực này.", code="unknown_register")
    return register


# -- input ----------------------------------------------------------------------------------------------
def _invalid(field: str, message: str, code: str = "invalid_field") -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {field: message}})


def clean_name(value: object) -> str:
    if value is not None and not isinstance(value, str):
        raise _invalid("name", "Tên sổ chứng thực phải là chuỗi ký tự (ví dụ 01/2024).")
    name = unicodedata.normalize("NFC", value or "").strip()
    if name.upper().endswith(SUFFIX.upper()):
        name = name[: -len(SUFFIX)].rstrip()  # the suffix is the system's; accept it typed by habit
    if not name:
        raise _invalid("name", "Cần nhập tên sổ chứng thực (ví dụ 01/2024).", "missing_field")
    if len(name) > MAX_NAME:
        raise _invalid("name", f"Tên sổ chứng thực tối đa {MAX_NAME} ký tự.")
    if not NAME_RE.match(name):
        raise _invalid("name", "Tên sổ chứng thực chỉ gồm chữ, số, dấu cách và các ký tự / . - ( ) "
                               "(ví dụ 01/2024).")
    return name


def clean_start_number(value: object) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= MAX_START_NUMBER:
        raise _invalid("start_number", f"Số bắt đầu phải là số nguyên từ 1 đến {MAX_START_NUMBER:,}."
                       .replace(",", "."))
    return value


def clean_date(field: str, value: object) -> date:
    label = {"opened_on": "Ngày mở sổ", "closes_on": "Ngày đóng sổ"}[field]
    if isinstance(value, str):
        text = value.strip()
        for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
            try:
                return parse(text)
            except ValueError:
                continue
    raise _invalid(field, f"{label} phải là ngày dạng YYYY-MM-DD (hoặc dd/mm/yyyy).")


def clean_closed(body: dict) -> bool | None:
    if "status" in body and body["status"] is not None:
        status = body["status"]
        if status not in ("open", "closed"):
            raise _invalid("status", "Trạng thái sổ phải là 'open' (đang mở) hoặc 'closed' (đã đóng).")
        return status == "closed"
    if "closed" in body and body["closed"] is not None:
        if not isinstance(body["closed"], bool):
            raise _invalid("closed", "'closed' phải là true hoặc false.")
        return body["closed"]
    return None


@dataclass
class RegisterInput:
    values: dict

    @classmethod
    def parse(cls, body: dict, *, partial: bool) -> RegisterInput:
        if not isinstance(body, dict):
            raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="invalid_json")
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise _invalid(unknown[0], f"Trường không được hỗ trợ: {', '.join(unknown)}.", "unknown_field")
        values: dict = {}
        for field in ("name", "start_number", "opened_on", "closes_on"):
            if field in body:
                values[field] = {"name": clean_name, "start_number": clean_start_number}.get(
                    field, lambda v, f=field: clean_date(f, v))(body[field])
            elif not partial:
                missing = {"name": "Cần nhập tên sổ chứng thực (ví dụ 01/2024).",
                           "start_number": "Cần nhập số bắt đầu.",
                           "opened_on": "Cần nhập ngày mở sổ.", "closes_on": "Cần nhập ngày đóng sổ."}[field]
                raise _invalid(field, missing, "missing_field")
        closed = clean_closed(body)
        if closed is not None:
            values["closed"] = closed
        return cls(values)


def _check_dates(opened_on: date, closes_on: date) -> None:
    if closes_on < opened_on:
        raise _invalid("closes_on", "Ngày đóng sổ không được trước ngày mở sổ.")


def _name_taken(session: Session, agency_id: int, name: str, except_id: int | None = None) -> bool:
    query = select(Register.id).where(Register.agency_id == agency_id, func.lower(Register.name) == name.lower())
    if except_id is not None:
        query = query.where(Register.id != except_id)
    return session.scalar(query) is not None


def _duplicate(name: str) -> Conflict:
    return Conflict(f"Cơ quan đã có sổ chứng thực {name}{SUFFIX}.", code="duplicate_register",
                    details={"fields": {"name": "taken"}})


# -- use cases ------------------------------------------------------------------------------------------
def create_register(system, actor: User, body: dict) -> Register:
    agency_id = require_manager(actor)
    values = RegisterInput.parse(body, partial=False).values
    _check_dates(values["opened_on"], values["closes_on"])
    try:
        with unit_of_work(system) as session:
            if _name_taken(session, agency_id, values["name"]):
                raise _duplicate(values["name"])
            register = Register(agency_id=agency_id, name=values["name"], start_number=values["start_number"],
                                next_number=values["start_number"], opened_on=values["opened_on"],
                                closes_on=values["closes_on"], closed=values.get("closed", False))
            session.add(register)
    except IntegrityError:
        raise _duplicate(values["name"]) from None
    return register


def _entry_bounds(session: Session, register_id: int) -> tuple[int, datetime | None, datetime | None]:
    """How many entries the register holds, and the first and last certification moments."""
    count, first, last = session.execute(select(
        func.count(RegisterEntry.id), func.min(RegisterEntry.certified_at), func.max(RegisterEntry.certified_at))
        .where(RegisterEntry.register_id == register_id)).one()
    return count, first, last


def update_register(system, actor: User, register_id: int, body: dict) -> Register:
    agency_id = require_manager(actor)
    values = RegisterInput.parse(body, partial=True).values
    try:
        with unit_of_work(system) as session:
            register = lock_register(session, register_id)
            if register is None or register.agency_id != agency_id:
                raise NotFound("Không có sổ chứng thực này.", code="unknown_register")
            count, first, last = _entry_bounds(session, register.id)
            used = count > 0 or register.next_number != register.start_number
            if used:
                if "start_number" in values and values["start_number"] != register.start_number:
                    raise Conflict(f"Sổ {register.full_name} đã cấp {count} số chứng thực: không sửa được số "
                                   "bắt đầu.", code="register_not_empty",
                                   details={"fields": {"start_number": "locked"}})
                if "name" in values and values["name"] != register.name:
                    raise Conflict(f"Sổ {register.full_name} đã cấp {count} số chứng thực: tên sổ đã in trên các bản "
                                   "sao nên không sửa được.", code="register_not_empty",
                                   details={"fields": {"name": "locked"}})
            opened_on = values.get("opened_on", register.opened_on)
            closes_on = values.get("closes_on", register.closes_on)
            _check_dates(opened_on, closes_on)
            if first is not None and opened_on > today_vn(first):
                raise _invalid("opened_on", f"Sổ đã có số chứng thực cấp ngày {today_vn(first):%d/%m/%Y}: "
                                            "ngày mở sổ không được sau ngày đó.")
            if last is not None and closes_on < today_vn(last):
                raise _invalid("closes_on", f"Sổ đã có số chứng thực cấp ngày {today_vn(last):%d/%m/%Y}: "
                                            "ngày đóng sổ không được trước ngày đó.")
            if "name" in values and _name_taken(session, agency_id, values["name"], except_id=register.id):
                raise _duplicate(values["name"])
            for field, value in values.items():
                setattr(register, field, value)
            if "start_number" in values and not used:
                register.next_number = values["start_number"]
        return register
    except IntegrityError:
        raise _duplicate(values.get("name", "")) from None


def delete_register(system, actor: User, register_id: int) -> None:
    agency_id = require_manager(actor)
    with unit_of_work(system) as session:
        register = lock_register(session, register_id)
        if register is None or register.agency_id != agency_id:
            raise NotFound("Không có sổ chứng thực này.", code="unknown_register")
        count = session.scalar(select(func.count(RegisterEntry.id)).where(RegisterEntry.register_id == register.id))
        referenced = session.scalar(select(func.count(Dossier.id)).where(Dossier.register_id == register.id))
        if count or referenced or register.next_number != register.start_number:
            raise Conflict(f"Sổ {register.full_name} đã cấp {count} số chứng thực: chỉ xóa được sổ còn trống.",
                           code="register_not_empty")
        session.delete(register)


# -- read models ----------------------------------------------------------------------------------------
def entries_of(session: Session, register: Register) -> list[RegisterEntry]:
    return list(session.scalars(select(RegisterEntry).where(RegisterEntry.register_id == register.id)
                                .order_by(RegisterEntry.number)))


def current_number(register: Register) -> int | None:
    """The last number given (the seed's "Số hiện tại"); None while the register is empty."""
    return register.next_number - 1 if register.next_number > register.start_number else None


def status_label(register: Register, today: date) -> str:
    if register.closed:
        return "Đã đóng"
    if today < register.opened_on:
        return "Chưa đến ngày mở sổ"
    if today > register.closes_on:
        return "Đã quá ngày đóng sổ"
    return "Đang mở"


def entry_view(entry: RegisterEntry, stt: int, dossier_code: str | None = None) -> dict:
    return {"stt": stt, "number": entry.number, "number_label": number_label(entry.number),
            "applicant": entry.applicant_name, "document_type": entry.document_type,
            "certified_on": today_vn(entry.certified_at).isoformat(), "certified_at": entry.certified_at.isoformat(),
            "signer": entry.signer_name, "dossier": dossier_code}


def register_view(session: Session, register: Register, today: date, with_entries: bool = False,
                  entry_count: int | None = None) -> dict:
    count = entry_count if entry_count is not None else session.scalar(
        select(func.count(RegisterEntry.id)).where(RegisterEntry.register_id == register.id))
    current = current_number(register)
    view = {
        "id": register.id, "name": register.name, "full_name": register.full_name,
        "agency": register.agency.code, "agency_name": register.agency.name,
        "start_number": register.start_number, "start_label": number_label(register.start_number),
        "next_number": register.next_number, "current_number": current, "current_label": number_label(current),
        "opened_on": register.opened_on.isoformat(), "closes_on": register.closes_on.isoformat(),
        "status": "closed" if register.closed else "open", "status_label": status_label(register, today),
        "usable": is_usable(register, register.agency_id, today), "entry_count": count,
    }
    if with_entries:
        rows = session.execute(select(RegisterEntry, Dossier.code).join(Dossier, RegisterEntry.dossier_id == Dossier.id)
                               .where(RegisterEntry.register_id == register.id).order_by(RegisterEntry.number)).all()
        view["entries"] = [entry_view(entry, i, code) for i, (entry, code) in enumerate(rows, start=1)]
    return view


def register_list(system, user: User, agency_code: str | None = None, *, usable_only: bool = False,
                  status: str | None = None) -> list[dict]:
    """The registers `user` may see (their agency's; every agency's, or one's, for auditors and administrators),
    the latest opened first; optionally only the usable ones (open, within their dates) or of one status."""
    query = visible_query(user, agency_code).options(joinedload(Register.agency))
    today = today_vn()
    with reading(system) as session:
        rows = session.scalars(query.order_by(Register.opened_on.desc(), Register.id.desc())).all()
        counts = dict(session.execute(select(RegisterEntry.register_id, func.count(RegisterEntry.id))
                                      .where(RegisterEntry.register_id.in_([r.id for r in rows]))
                                      .group_by(RegisterEntry.register_id)).all()) if rows else {}
        views = [register_view(session, r, today, entry_count=counts.get(r.id, 0)) for r in rows]
    if usable_only:
        views = [v for v in views if v["usable"]]
    if status:
        views = [v for v in views if v["status"] == status]
    return views


def register_detail(system, user: User, register_id: int) -> dict:
    """One register `user` may see, with its entries."""
    with reading(system) as session:
        return register_view(session, get_visible(session, user, register_id), today_vn(), with_entries=True)


def edit_register(system, actor: User, register_id: int, form: dict) -> Register:
    """Save the edit form of a register: once numbers were given its name and start number are shown read-only,
    and what the form sends for them is left out."""
    with reading(system) as session:
        register = get_visible(session, actor, register_id)
        numbered = _entry_bounds(session, register.id)[0] > 0
    body = {k: v for k, v in form.items() if not (numbered and k in ("name", "start_number"))}
    return update_register(system, actor, register_id, body)


def register_export(system, user: User, register_id: int) -> tuple[bytes, str]:
    """One register `user` may see as an Excel file: (content, file name)."""
    with reading(system) as session:
        register = get_visible(session, user, register_id)
        return export_xlsx(session, register), export_filename(register)


# -- Excel export (the layout of seed 001's report) -----------------------------------------------------
ENTRY_HEADERS = ("STT", "Tên đối tượng đăng ký chứng thực", "Giấy tờ cần chứng thực", "Số chứng thực",
                 "Ngày chứng thực")


def export_xlsx(session: Session, register: Register) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    bold = Font(bold=True)
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_fill = PatternFill("solid", fgColor="DDE6F2")
    wrap = Alignment(wrap_text=True, vertical="top")

    book = Workbook()
    sheet = book.active
    sheet.title = "Sổ chứng thực"
    current = current_number(register)
    sheet.append(text_safe_row(sheet, ["Tên sổ chứng thực", register.full_name]))
    sheet.merge_cells("B1:E1")
    sheet.append(["Số bắt đầu", number_label(register.start_number), "Số hiện tại", number_label(current)])
    sheet.append(["Ngày mở sổ", register.opened_on, "Ngày đóng sổ", register.closes_on])
    sheet.append(text_safe_row(sheet, ["Cơ quan quản lý sổ chứng thực", register.agency.name]))
    sheet.merge_cells("B4:E4")
    sheet.append([])
    sheet.append(["Thông tin chứng thực trong sổ"])
    sheet.merge_cells("A6:E6")
    for cell in ("A1", "A2", "C2", "A3", "C3", "A4", "A6"):
        sheet[cell].font = bold
    sheet["B1"].font = Font(bold=True, size=12)
    for cell in ("B3", "D3"):
        sheet[cell].number_format = "DD/MM/YYYY"
        sheet[cell].alignment = Alignment(horizontal="left")
    sheet.append(list(ENTRY_HEADERS))
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font, cell.fill, cell.border = bold, header_fill, box
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for stt, entry in enumerate(entries_of(session, register), start=1):
        sheet.append(text_safe_row(sheet, [stt, entry.applicant_name, entry.document_type,
                                           number_label(entry.number), today_vn(entry.certified_at)]))
        row = sheet[sheet.max_row]
        for cell in row:
            cell.border, cell.alignment = box, wrap
        row[4].number_format = "DD/MM/YYYY"
    for column, width in zip("ABCDE", (30, 40, 36, 18, 18)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_filename(register: Register) -> str:
    safe = re.sub(r"[^0-9A-Za-z._-]+", "-", unicodedata.normalize("NFKD", register.name)
                  .encode("ascii", "ignore").decode()).strip("-") or str(register.id)
    return f"so-chung-thuc-{safe}.xlsx"
