"""Accounts: citizen registration and staff users."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import or_, select

from app import clock
from app.errors import Conflict, Unprocessable
from app.adapters.models import ROLES, Agency, User, UserRole
from app.adapters.security import hash_password
from app.domain.calendar import VN_TZ
from app.domain.contacts import EMAIL_RE, PHONE_RE
from app.services.unit_of_work import unit_of_work

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(message, code="invalid_field", details={"fields": {field: message}})


def validate_id_number(value: object) -> str:
    """CCCD has 12 digits, the old CMND 9."""
    if not isinstance(value, str) or not value.isdigit() or len(value) not in (9, 12):
        raise _invalid("id_number", "Số định danh (CCCD 12 số hoặc CMND 9 số) không hợp lệ.")
    return value


def register_citizen(system, body: dict) -> User:
    username = str(body.get("username") or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise _invalid("username", "Tên đăng nhập gồm 3–80 ký tự chữ thường, số, dấu chấm, gạch ngang.")
    password = body.get("password")
    if not isinstance(password, str) or len(password) < 8:
        raise _invalid("password", "Mật khẩu cần ít nhất 8 ký tự.")
    full_name = str(body.get("full_name") or "").strip()
    if not full_name or len(full_name) > 255:
        raise _invalid("full_name", "Cần nhập họ và tên.")
    id_number = validate_id_number(body.get("id_number"))
    try:
        dob = date.fromisoformat(str(body.get("date_of_birth")))
    except ValueError:
        raise _invalid("date_of_birth", "Ngày sinh phải có dạng YYYY-MM-DD.") from None
    if dob > clock.now().astimezone(VN_TZ).date():
        raise _invalid("date_of_birth", "Ngày sinh không thể ở tương lai.")
    phone = str(body.get("phone") or "").replace(" ", "")
    if not PHONE_RE.match(phone):
        raise _invalid("phone", "Số điện thoại không hợp lệ.")
    email = str(body.get("email") or "").strip()
    if not EMAIL_RE.match(email):
        raise _invalid("email", "Địa chỉ email không hợp lệ.")
    with unit_of_work(system) as session:
        clash = session.scalar(select(User).where(or_(User.username == username, User.id_number == id_number)))
        if clash is not None:
            field = "username" if clash.username == username else "id_number"
            raise Conflict("Tên đăng nhập hoặc số định danh đã được đăng ký.", code="duplicate",
                           details={"fields": {field: "taken"}})
        user = User(username=username, password_hash=hash_password(password), full_name=full_name,
                    id_number=id_number, date_of_birth=dob, phone=phone, email=email, active=True,
                    token_generation=0)
        user.role_rows = [UserRole(role="citizen")]
        session.add(user)
    return user


def create_user(session, *, username: str, password: str, full_name: str, roles: list[str],
                agency: Agency | None = None, title: str | None = None, email: str | None = None,
                id_number: str | None = None) -> User:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise _invalid("roles", f"Vai trò không hợp lệ: {', '.join(sorted(unknown))}")
    user = User(username=username, password_hash=hash_password(password), full_name=full_name, title=title,
                agency_id=agency.id if agency else None, email=email, id_number=id_number, active=True,
                token_generation=0)
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    return user


MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15


def authenticate(system, username: object, password: object) -> User:
    """Check a username and password; repeated failures lock the account for a while."""
    from datetime import timedelta

    from app.errors import AppError, Unauthorized
    from app.adapters.security import check_password

    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise Unauthorized("Cần nhập tên đăng nhập và mật khẩu.", code="missing_credentials")
    now = clock.now()
    with unit_of_work(system) as session:
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None or not user.active:
            raise Unauthorized("Sai tên đăng nhập hoặc mật khẩu.", code="invalid_credentials")
        if user.locked_until and user.locked_until > now:
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            raise AppError(f"Tài khoản tạm khóa do đăng nhập sai nhiều lần. Vui lòng thử lại sau {minutes} phút.",
                           code="account_locked", status=429)
        if not check_password(user.password_hash, password):
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + timedelta(minutes=LOCKOUT_MINUTES)
                user.failed_logins = 0
            raise_after = Unauthorized("Sai tên đăng nhập hoặc mật khẩu.", code="invalid_credentials")
        else:
            raise_after = None
            user.failed_logins = 0
            user.locked_until = None
        _ = user.agency, user.roles
    if raise_after:
        raise raise_after
    return user
