"""Administration: agencies (code, name, level, parent) and staff users (roles in one agency, active, password).

Only administrators call these. A user may hold several roles in one agency. Deactivating a user, moving them to
another agency or taking a role away releases the inbox tasks they held for that role, each under its dossier's
lock, so no dossier waits on someone who can no longer act.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from app import clock
from app.adapters.db import lock_dossier
from app.engine.audit import append_event
from app.errors import BadRequest, Conflict, Forbidden, Unprocessable
from app.adapters.models import (
    LEVELS,
    STAFF_ROLES,
    Agency,
    Dossier,
    HumanTask,
    Register,
    SigningCredential,
    User,
    UserRole,
)
from app.adapters.security import hash_password
from app.services.administration.accounts import EMAIL_RE, PHONE_RE, USERNAME_RE
from app.services.queries.directory import agency_ref_matches, find_agency, find_user
from app.services.unit_of_work import reading, unit_of_work
from app.domain.procedures import LEVEL_NAMES, ROLE_NAMES

AGENCY_CODE_RE = re.compile(r"^[A-Z0-9]{1,5}(\.[A-Z0-9]{1,5}){0,5}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
ASSIGNABLE_ROLES = (*STAFF_ROLES, "admin", "auditor")
LEVEL_RANK = {"province": 0, "district": 1, "commune": 2}
MIN_PASSWORD = 8


def require_admin(actor: User) -> None:
    if not actor.has_role("admin"):
        raise Forbidden("Chỉ quản trị viên mới thực hiện được thao tác này.")


def _invalid(field: str, message: str, code: str = "invalid_field") -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {field: message}})


def _text(body: dict, field: str, label: str, *, required: bool, max_len: int = 255) -> str | None:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(field, f"Cần nhập {label}.", "missing_field")
        return None
    if not isinstance(value, str):
        raise _invalid(field, f"{label[:1].upper()}{label[1:]} phải là chuỗi ký tự.")
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > max_len or any(unicodedata.category(c) == "Cc" for c in value):
        raise _invalid(field, f"{label[:1].upper()}{label[1:]} không hợp lệ (tối đa {max_len} ký tự).")
    return value


def _check_fields(body: object, allowed: tuple[str, ...]) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON.", code="invalid_json")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise _invalid(unknown[0], f"Trường không được hỗ trợ: {', '.join(unknown)}.", "unknown_field")
    return body


# -- agencies ---------------------------------------------------------------------------------------------
AGENCY_FIELDS = ("code", "name", "level", "parent", "slug")


def agency_view(agency: Agency) -> dict:
    return {"code": agency.code, "slug": agency.slug, "name": agency.name, "level": agency.level,
            "level_label": LEVEL_NAMES.get(agency.level, agency.level),
            "parent": agency.parent.code if agency.parent else None,
            "has_seal_image": bool(agency.seal_image_sha256)}


def _clean_code(value: object) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not AGENCY_CODE_RE.match(code):
        raise _invalid("code", "Mã cơ quan không hợp lệ: dạng mã định danh như 000.00.38.H03 "
                               "(chữ in hoa, số, ngăn bởi dấu chấm).")
    return code


def _slug_from(code: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-")[:40]


def _clean_level(value: object) -> str:
    if value not in LEVELS:
        raise _invalid("level", "Cấp cơ quan phải là province (tỉnh), district (huyện) hoặc commune (xã).")
    return value


def _resolve_parent(session: Session, value: object, level: str, agency: Agency | None) -> Agency | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _invalid("parent", "Cơ quan cấp trên phải là mã cơ quan.")
    parent = session.scalar(select(Agency).where(agency_ref_matches(value)))
    if parent is None:
        raise _invalid("parent", f"Không có cơ quan cấp trên '{value}'.", "unknown_agency")
    if LEVEL_RANK[parent.level] > LEVEL_RANK[level]:
        raise _invalid("parent", f"Cơ quan cấp trên ({LEVEL_NAMES[parent.level].lower()}) không thể ở cấp thấp hơn "
                                 f"cơ quan này ({LEVEL_NAMES[level].lower()}).", "invalid_parent")
    seen, node = set(), parent
    while node is not None and agency is not None:
        if node.id == agency.id:
            raise _invalid("parent", "Cơ quan cấp trên không thể là chính cơ quan này hoặc cơ quan cấp dưới của nó.",
                           "invalid_parent")
        if node.id in seen:
            break
        seen.add(node.id)
        node = node.parent
    return parent


def _lower_children(session: Session, agency: Agency, level: str) -> bool:
    children = session.scalars(select(Agency).where(Agency.parent_id == agency.id)).all()
    return any(LEVEL_RANK[c.level] < LEVEL_RANK[level] for c in children)


def create_agency(system, actor: User, body: dict) -> dict:
    require_admin(actor)
    body = _check_fields(body, AGENCY_FIELDS)
    code = _clean_code(body.get("code"))
    name = _text(body, "name", "tên cơ quan", required=True)
    level = _clean_level(body.get("level"))
    slug = body.get("slug") or _slug_from(code)
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise _invalid("slug", "Tên rút gọn gồm 2–40 ký tự chữ thường, số, gạch ngang.")
    with unit_of_work(system) as session:
        parent = _resolve_parent(session, body.get("parent"), level, None)
        clash = session.scalar(select(Agency).where(or_(Agency.code == code, Agency.slug == slug)))
        if clash is not None:
            field = "code" if clash.code == code else "slug"
            raise Conflict(f"Đã có cơ quan với {'mã' if field == 'code' else 'tên rút gọn'} này.", code="duplicate",
                           details={"fields": {field: "taken"}})
        agency = Agency(code=code, slug=slug, name=name, level=level, parent_id=parent.id if parent else None)
        session.add(agency)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("Đã có cơ quan với mã này.", code="duplicate") from None
        session.refresh(agency)
        return agency_view(agency)


def update_agency(system, actor: User, ref: str, body: dict) -> dict:
    require_admin(actor)
    body = _check_fields(body, AGENCY_FIELDS)
    with unit_of_work(system) as session:
        agency = find_agency(session, ref)
        if "code" in body:
            code = _clean_code(body["code"])
            if code != agency.code:
                used = session.scalar(select(func.count(Dossier.id)).where(Dossier.agency_id == agency.id))
                if used:
                    raise Conflict("Cơ quan đã có hồ sơ (mã hồ sơ chứa mã cơ quan): không đổi được mã cơ quan.",
                                   code="agency_in_use", details={"fields": {"code": "locked"}})
                if session.scalar(select(Agency.id).where(Agency.code == code)) is not None:
                    raise Conflict("Đã có cơ quan với mã này.", code="duplicate", details={"fields": {"code": "taken"}})
                agency.code = code
        if "name" in body:
            agency.name = _text(body, "name", "tên cơ quan", required=True)
        level = _clean_level(body["level"]) if "level" in body else agency.level
        if level != agency.level and _lower_children(session, agency, level):
            raise _invalid("level", "Cơ quan có cơ quan cấp dưới ở cấp cao hơn cấp mới.", "invalid_level")
        if "parent" in body:
            parent = _resolve_parent(session, body["parent"], level, agency)
            agency.parent_id = parent.id if parent else None
        elif agency.parent is not None:
            _resolve_parent(session, agency.parent.code, level, agency)
        agency.level = level
        if "slug" in body:
            slug = body["slug"]
            if not isinstance(slug, str) or not SLUG_RE.match(slug):
                raise _invalid("slug", "Tên rút gọn gồm 2–40 ký tự chữ thường, số, gạch ngang.")
            if session.scalar(select(Agency.id).where(Agency.slug == slug, Agency.id != agency.id)) is not None:
                raise Conflict("Đã có cơ quan với tên rút gọn này.", code="duplicate",
                               details={"fields": {"slug": "taken"}})
            agency.slug = slug
        session.flush()
        return agency_view(agency)


def delete_agency(system, actor: User, ref: str) -> dict:
    """Delete an agency nothing refers to; returns the view it had."""
    require_admin(actor)
    with unit_of_work(system) as session:
        agency = find_agency(session, ref)
        uses = {
            "hồ sơ": session.scalar(select(func.count(Dossier.id)).where(Dossier.agency_id == agency.id)),
            "người dùng": session.scalar(select(func.count(User.id)).where(User.agency_id == agency.id)),
            "sổ chứng thực": session.scalar(select(func.count(Register.id)).where(Register.agency_id == agency.id)),
            "cơ quan cấp dưới": session.scalar(select(func.count(Agency.id)).where(Agency.parent_id == agency.id)),
            "chứng thư số": session.scalar(select(func.count(SigningCredential.id))
                                           .where(SigningCredential.agency_id == agency.id)),
        }
        used = [f"{n} {what}" for what, n in uses.items() if n]
        if used:
            raise Conflict(f"Cơ quan đang có {', '.join(used)}: không xóa được.", code="agency_in_use")
        view = agency_view(agency)
        session.delete(agency)
    return view


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.level, Agency.name)))


# -- users -------------------------------------------------------------------------------------------------
USER_FIELDS = ("username", "full_name", "title", "email", "phone", "agency", "roles", "active", "password")


def user_view(user: User, now=None) -> dict:
    now = now or clock.now()
    return {"username": user.username, "full_name": user.full_name, "title": user.title, "email": user.email,
            "phone": user.phone, "agency": user.agency.code if user.agency else None,
            "agency_name": user.agency.name if user.agency else None, "roles": user.roles,
            "role_labels": [ROLE_NAMES.get(r, r) for r in user.roles], "active": user.active,
            "locked": bool(user.locked_until and user.locked_until > now),
            "has_signature_image": bool(user.signature_image_sha256)}


def _clean_roles(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise _invalid("roles", "Cần chọn ít nhất một vai trò.", "missing_field")
    roles = sorted(set(value))
    bad = [r for r in roles if r not in ASSIGNABLE_ROLES]
    if bad:
        raise _invalid("roles", f"Vai trò không hợp lệ: {', '.join(bad)} (công dân tự đăng ký tài khoản).")
    return roles


def _clean_password(value: object) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD or len(value) > 200:
        raise _invalid("password", f"Mật khẩu cần từ {MIN_PASSWORD} ký tự.")
    return value


@dataclass
class UserInput:
    values: dict

    @classmethod
    def parse(cls, session: Session, body: dict, *, partial: bool) -> UserInput:
        body = _check_fields(body, USER_FIELDS)
        values: dict = {}
        if not partial:
            username = str(body.get("username") or "").strip().lower()
            if not USERNAME_RE.match(username):
                raise _invalid("username", "Tên đăng nhập gồm 3–80 ký tự chữ thường, số, dấu chấm, gạch ngang.")
            values["username"] = username
        elif "username" in body:
            raise _invalid("username", "Không đổi được tên đăng nhập.", "read_only")
        if "full_name" in body or not partial:
            values["full_name"] = _text(body, "full_name", "họ và tên", required=True)
        if "title" in body:
            values["title"] = _text(body, "title", "chức danh", required=False)
        if "email" in body:
            email = _text(body, "email", "email", required=False)
            if email and not EMAIL_RE.match(email):
                raise _invalid("email", "Địa chỉ email không hợp lệ.")
            values["email"] = email
        if "phone" in body:
            phone = _text(body, "phone", "số điện thoại", required=False)
            phone = phone.replace(" ", "") if phone else None
            if phone and not PHONE_RE.match(phone):
                raise _invalid("phone", "Số điện thoại không hợp lệ.")
            values["phone"] = phone
        if "agency" in body:
            ref = body["agency"]
            if ref in (None, ""):
                values["agency"] = None
            elif not isinstance(ref, str):
                raise _invalid("agency", "Cơ quan phải là mã cơ quan.")
            else:
                agency = session.scalar(select(Agency).where(agency_ref_matches(ref)))
                if agency is None:
                    raise _invalid("agency", f"Không có cơ quan '{ref}'.", "unknown_agency")
                values["agency"] = agency
        if "roles" in body or not partial:
            values["roles"] = _clean_roles(body.get("roles"))
        if "active" in body:
            if not isinstance(body["active"], bool):
                raise _invalid("active", "'active' phải là true hoặc false.")
            values["active"] = body["active"]
        if "password" in body and not partial:
            values["password"] = _clean_password(body["password"])
        elif "password" in body:
            raise _invalid("password", "Đặt lại mật khẩu bằng chức năng riêng (POST /users/{username}/password).",
                           "use_password_reset")
        return cls(values)


def _check_role_agency(roles: list[str], agency: Agency | None) -> None:
    staff = [r for r in roles if r in STAFF_ROLES]
    if staff and agency is None:
        raise _invalid("agency", f"Vai trò {', '.join(ROLE_NAMES[r] for r in staff)} cần thuộc một cơ quan.",
                       "agency_required")


def create_staff_user(system, actor: User, body: dict) -> tuple[dict, str | None]:
    """Returns the user and, when no password was given, the generated one (shown once)."""
    require_admin(actor)
    return _create_user(system, body)


def create_administrator(system, body: dict) -> dict:
    """An administrator account made by whoever runs the server's command line (`certcopy create-admin`): the
    first one of a new installation, or another when no administrator can log in. The password is required."""
    if not isinstance(body, dict) or "password" not in body:
        raise _invalid("password", f"Mật khẩu cần từ {MIN_PASSWORD} ký tự.", "missing_field")
    return _create_user(system, {**body, "roles": ["admin"]})[0]


def _create_user(system, body: dict) -> tuple[dict, str | None]:
    with unit_of_work(system) as session:
        values = UserInput.parse(session, body, partial=False).values
        agency = values.get("agency")
        _check_role_agency(values["roles"], agency)
        if session.scalar(select(User.id).where(User.username == values["username"])) is not None:
            raise Conflict("Tên đăng nhập đã có.", code="duplicate", details={"fields": {"username": "taken"}})
        generated = None if "password" in values else secrets.token_urlsafe(9)
        user = User(username=values["username"], password_hash=hash_password(values.get("password") or generated),
                    full_name=values["full_name"], title=values.get("title"), email=values.get("email"),
                    phone=values.get("phone"), agency_id=agency.id if agency else None,
                    active=values.get("active", True), token_generation=0, failed_logins=0)
        user.role_rows = [UserRole(role=r) for r in values["roles"]]
        session.add(user)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("Tên đăng nhập đã có.", code="duplicate",
                           details={"fields": {"username": "taken"}}) from None
        session.refresh(user)
        return user_view(user), generated


def update_staff_user(system, actor: User, username: str, body: dict) -> dict:
    require_admin(actor)
    with system.db.session() as session:
        user = find_user(session, username)
        if user.has_role("citizen"):
            allowed = {"active"}
            if set(body or {}) - allowed:
                raise Forbidden("Tài khoản công dân do công dân tự quản lý; quản trị viên chỉ khóa/mở được tài khoản.")
        values = UserInput.parse(session, body, partial=True).values
        roles = values.get("roles", user.roles)
        agency = values["agency"] if "agency" in values else user.agency
        agency_id = agency.id if agency else None
        _check_role_agency(roles, agency)
        if user.id == actor.id and ("admin" not in roles or values.get("active") is False):
            raise Conflict("Không thể tự khóa hoặc tự bỏ vai trò quản trị của chính mình.", code="self_lockout")
        lost_roles = set(user.roles) - set(roles)
        if values.get("active") is False or agency_id != user.agency_id:
            lost_roles = set(user.roles)
        user_id = user.id
    released = release_held_tasks(system, actor, user_id, lost_roles) if lost_roles else 0
    with unit_of_work(system) as session:
        user = session.get(User, user_id)
        for field in ("full_name", "title", "email", "phone", "active"):
            if field in values:
                setattr(user, field, values[field])
        if "agency" in values:
            user.agency_id = agency_id
        if "roles" in values and values["roles"] != user.roles:
            user.role_rows = [UserRole(role=r) for r in values["roles"]]
        if values.get("active") is False or lost_roles:
            user.token_generation = (user.token_generation or 0) + 1  # ends the user's sessions and tokens
        session.flush()
        session.refresh(user)
        view = user_view(user)
    view["released_tasks"] = released
    return view


def reset_password(system, actor: User, username: str, password: str | None = None) -> str:
    """Set a new password (given, or generated and returned once); ends sessions, clears a lock-out."""
    return reset_password_with_view(system, actor, username, password)[0]


def reset_password_with_view(system, actor: User, username: str, password: str | None = None) -> tuple[str, dict]:
    """`reset_password`, also returning the user's view (for the page that shows the new password once)."""
    require_admin(actor)
    new = _clean_password(password) if password else secrets.token_urlsafe(9)
    with unit_of_work(system) as session:
        user = find_user(session, username)
        user.password_hash = hash_password(new)
        user.token_generation = (user.token_generation or 0) + 1
        user.failed_logins = 0
        user.locked_until = None
        return new, user_view(user)


def update_user_from_form(system, actor: User, username: str, form: dict) -> dict:
    """The user page's form: of a citizen's account only `active` is taken (the rest is the citizen's own)."""
    with reading(system) as session:
        citizen = find_user(session, username).has_role("citizen")
    return update_staff_user(system, actor, username, {"active": form.get("active")} if citizen else form)


def release_held_tasks(system, actor: User, user_id: int, roles: set[str]) -> int:
    """Unassign the inbox tasks `user_id` holds in `roles`, each in its dossier's transaction under its lock."""
    with system.db.session() as session:
        held = session.execute(select(HumanTask.id, Dossier.code).join(Dossier, HumanTask.dossier_id == Dossier.id)
                               .where(HumanTask.assignee_id == user_id, HumanTask.role.in_(roles))).all()
    released = 0
    for task_id, code in held:
        now = clock.now()
        with unit_of_work(system) as session:
            dossier = lock_dossier(session, code)
            row = session.get(HumanTask, task_id)
            if dossier is None or row is None or row.assignee_id != user_id:
                continue
            row.assignee_id = None
            append_event(session, dossier, at=now, actor=actor.username, role="admin", kind="released",
                         task=row.name, task_id=row.id, data={"reason": "user_changed"})
            released += 1
    return released


def list_users(session: Session, *, agency: str | None = None, role: str | None = None, q: str | None = None,
               include_citizens: bool = False) -> list[User]:
    query = select(User).options(contains_eager(User.agency)).outerjoin(Agency, User.agency_id == Agency.id)
    if agency:
        query = query.where(agency_ref_matches(agency))
    if role:
        query = query.where(User.role_rows.any(UserRole.role == role))
    elif not include_citizens:
        query = query.where(~User.role_rows.any(UserRole.role == "citizen"))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(User.username.ilike(like), User.full_name.ilike(like)))
    return list(session.scalars(query.order_by(Agency.name.is_(None), Agency.name, User.username).limit(500)))


def user_list(system, actor: User, *, agency: str | None = None, role: str | None = None,
              q: str | None = None) -> list[dict]:
    """GET /users (administrators): staff users (citizens only with role=citizen)."""
    require_admin(actor)
    with reading(system) as session:
        return [user_view(u) for u in list_users(session, agency=agency, role=role, q=q)]


def user_detail(system, actor: User, username: str) -> dict:
    """GET /users/{username} (administrators)."""
    require_admin(actor)
    with reading(system) as session:
        return user_view(find_user(session, username))
