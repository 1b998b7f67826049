"""Set-up before any copy can be certified (seed 002): each signer's signature image, the agency's seal image,
and the signing credentials (PKCS#12) of signers and agency seals. Also: what is still missing for a user.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.errors import Forbidden, NotFound, TooLarge, Unprocessable, UnsupportedMediaType
from app.adapters.models import Agency, SigningCredential, User
from app.domain.calendar import VN_TZ
from app.services.queries.directory import find_agency, find_user
from app.adapters.keys import credential_view, expiry_state
from app.services.registers import today_vn, usable_registers
from app.services.unit_of_work import reading, unit_of_work

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_PIXELS = 16_000_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass(frozen=True)
class ImageRule:
    label: str
    min_width: int
    min_height: int
    min_ratio: float   # width / height
    max_ratio: float


SIGNATURE = ImageRule("Ảnh chữ ký", 200, 80, 1.0, 8.0)
SEAL = ImageRule("Ảnh con dấu", 200, 200, 0.67, 1.5)


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    size: int

    @property
    def mimetype(self) -> str:
        return FORMATS[self.format]


def sniff_mimetype(data: bytes) -> str:
    return "image/png" if data.startswith(b"\x89PNG") else "image/jpeg" if data.startswith(b"\xff\xd8") \
        else "application/octet-stream"


def _image_error(message: str, code: str) -> Unprocessable:
    return Unprocessable(message, code=code, details={"fields": {"image": code}})


def check_image(data: bytes | None, rule: ImageRule) -> ImageInfo:
    """A PNG or JPEG within the size limit, fully decodable, large enough and of a sensible shape."""
    if not data:
        raise _image_error(f"Cần chọn tệp {rule.label.lower()} (PNG hoặc JPEG).", "missing_file")
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLarge(f"{rule.label} quá lớn: tối đa {MAX_IMAGE_BYTES // (1024 * 1024)} MB.", code="file_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind = image.format
            if kind not in FORMATS:
                raise UnsupportedMediaType(f"{rule.label} phải là tệp PNG hoặc JPEG.", code="unsupported_image")
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _image_error(f"{rule.label} có kích thước quá lớn ({width}×{height} điểm ảnh).",
                                   "image_too_large")
            image.load()
    except (UnsupportedMediaType, Unprocessable):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _image_error(f"{rule.label} có kích thước quá lớn.", "image_too_large") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise UnsupportedMediaType(f"{rule.label} không đọc được: hãy dùng tệp PNG hoặc JPEG hợp lệ.",
                                   code="unsupported_image") from None
    if width < rule.min_width or height < rule.min_height:
        raise _image_error(f"{rule.label} quá nhỏ ({width}×{height} điểm ảnh): cần ít nhất "
                           f"{rule.min_width}×{rule.min_height} để in rõ nét.", "image_too_small")
    ratio = width / height
    if not rule.min_ratio <= ratio <= rule.max_ratio:
        shape = "gần vuông (con dấu tròn)" if rule is SEAL else "nằm ngang (chữ ký, họ tên, chức danh)"
        raise _image_error(f"{rule.label} có tỉ lệ {width}×{height} không phù hợp: ảnh cần {shape}.",
                           "image_shape")
    return ImageInfo(kind, width, height, len(data))


# -- who may set up what -------------------------------------------------------------------------------


def may_manage_signer(actor: User, signer: User) -> bool:
    return actor.has_role("admin") or actor.id == signer.id


def may_manage_seal(actor: User, agency: Agency) -> bool:
    return actor.has_role("admin") or (actor.has_role("clerk") and actor.agency_id == agency.id)


def _signer_for(session: Session, actor: User, username: str) -> User:
    signer = find_user(session, username)
    if not may_manage_signer(actor, signer):
        if actor.has_role("admin") or signer.agency_id == actor.agency_id:
            raise Forbidden("Chỉ người ký hoặc quản trị viên mới cài đặt được chữ ký của người ký.")
        raise NotFound("Không có người dùng này.", code="unknown_user")
    if not signer.has_role("signer"):
        raise Unprocessable(f"{signer.full_name} không có vai trò người ký chứng thực.", code="not_a_signer")
    return signer


def _agency_for(session: Session, actor: User, ref: str) -> Agency:
    agency = find_agency(session, ref)
    if not may_manage_seal(actor, agency):
        raise Forbidden("Chỉ văn thư của cơ quan hoặc quản trị viên mới cài đặt được con dấu của cơ quan.")
    return agency


# -- use cases ------------------------------------------------------------------------------------------
def set_signature_image(system, actor: User, username: str, data: bytes | None) -> ImageInfo:
    info = check_image(data, SIGNATURE)
    sha = system.files.put(data)
    with unit_of_work(system) as session:
        signer = _signer_for(session, actor, username)
        signer.signature_image_sha256 = sha
    return info


def set_seal_image(system, actor: User, agency_ref: str, data: bytes | None) -> ImageInfo:
    info = check_image(data, SEAL)
    sha = system.files.put(data)
    with unit_of_work(system) as session:
        agency = _agency_for(session, actor, agency_ref)
        agency.seal_image_sha256 = sha
    return info


def signature_image(system, actor: User, username: str) -> bytes:
    with system.db.session() as session:
        signer = find_user(session, username)
        if not (may_manage_signer(actor, signer) or signer.agency_id == actor.agency_id) \
                or not signer.signature_image_sha256:
            raise NotFound("Chưa có ảnh chữ ký.", code="no_image")
        return system.files.get(signer.signature_image_sha256)


def seal_image(system, actor: User, agency_ref: str) -> bytes:
    with system.db.session() as session:
        agency = find_agency(session, agency_ref)
        if not (may_manage_seal(actor, agency) or actor.agency_id == agency.id) or not agency.seal_image_sha256:
            raise NotFound("Chưa có ảnh con dấu.", code="no_image")
        return system.files.get(agency.seal_image_sha256)


def upload_signer_credential(system, actor: User, username: str, data: bytes | None, passphrase: str | None) -> dict:
    with unit_of_work(system) as session:
        signer = _signer_for(session, actor, username)
        row = system.keys.register_pkcs12(session, data or b"", passphrase or "", kind="signer", user=signer,
                                          uploaded_by=actor.username)
        return credential_view(row, clock.now())


def upload_seal_credential(system, actor: User, agency_ref: str, data: bytes | None, passphrase: str | None) -> dict:
    with unit_of_work(system) as session:
        agency = _agency_for(session, actor, agency_ref)
        row = system.keys.register_pkcs12(session, data or b"", passphrase or "", kind="seal", agency=agency,
                                          uploaded_by=actor.username)
        return credential_view(row, clock.now())


def credentials_of(session: Session, *, user: User | None = None, agency: Agency | None = None) -> list:
    query = select(SigningCredential)
    query = query.where(SigningCredential.kind == "signer", SigningCredential.user_id == user.id) if user else \
        query.where(SigningCredential.kind == "seal", SigningCredential.agency_id == agency.id)
    return list(session.scalars(query.order_by(SigningCredential.active.desc(), SigningCredential.id.desc())))


def list_signer_credentials(system, actor: User, username: str) -> list[dict]:
    with system.db.session() as session:
        signer = _signer_for(session, actor, username)
        return [credential_view(r, clock.now()) for r in credentials_of(session, user=signer)]


def list_seal_credentials(system, actor: User, agency_ref: str) -> list[dict]:
    with system.db.session() as session:
        agency = _agency_for(session, actor, agency_ref)
        return [credential_view(r, clock.now()) for r in credentials_of(session, agency=agency)]


# -- what is still missing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gap:
    code: str
    message: str
    severity: str = "block"   # block: signing/sealing cannot happen; warn: it can, but act soon

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "severity": self.severity}


def _credential_gaps(row: SigningCredential | None, now: datetime, whose: str, who_uploads: str) -> list[Gap]:
    if row is None:
        return [Gap("missing_credential", f"Chưa có chứng thư số (PKCS#12) {whose}: {who_uploads} cần tải lên.")]
    state = expiry_state(row, now)
    until = row.not_after.astimezone(VN_TZ).strftime("%d/%m/%Y")
    if state == "expired":
        return [Gap("credential_expired", f"Chứng thư số {whose} đã hết hạn ngày {until}: cần tải lên chứng thư mới.")]
    if state == "expiring":
        days = max(0, (row.not_after - now).days)
        return [Gap("credential_expiring", f"Chứng thư số {whose} sẽ hết hạn ngày {until} (còn {days} ngày): "
                                           "hãy gia hạn và tải lên chứng thư mới.", "warn")]
    return []


def signer_gaps(session: Session, signer: User, now: datetime) -> list[Gap]:
    gaps = []
    if not signer.signature_image_sha256:
        gaps.append(Gap("missing_signature_image", "Chưa có ảnh chữ ký (thể hiện rõ họ tên, chức danh): "
                                                   "hãy tải ảnh chữ ký lên."))
    if not (signer.title or "").strip():
        gaps.append(Gap("missing_title", "Chưa có chức danh của người ký (in trên lời chứng): "
                                         "quản trị viên cần cập nhật.", "warn"))
    active = next((r for r in credentials_of(session, user=signer) if r.active), None)
    gaps += _credential_gaps(active, now, "của người ký", "quản trị viên hoặc người ký")
    return gaps


def agency_gaps(session: Session, agency: Agency, now: datetime) -> list[Gap]:
    gaps = []
    if not agency.seal_image_sha256:
        gaps.append(Gap("missing_seal_image", "Chưa có ảnh con dấu của cơ quan: văn thư cần tải ảnh con dấu lên."))
    active = next((r for r in credentials_of(session, agency=agency) if r.active), None)
    gaps += _credential_gaps(active, now, "con dấu của cơ quan", "quản trị viên hoặc văn thư")
    if not usable_registers(session, agency.id, today_vn(now)):
        gaps.append(Gap("no_open_register", "Chưa có sổ chứng thực đang mở (trong thời hạn mở sổ): "
                                            "văn thư cần tạo hoặc mở sổ."))
    return gaps


def setup_status(system, user: User, now: datetime) -> dict:
    """What is still missing before `user` can sign (a signer) or their agency can seal (its signers and clerks):
    {"signer": [gap…] | None, "agency": [gap…] | None, "ready": no gap blocks}."""
    body: dict = {"signer": None, "agency": None}
    with reading(system) as session:
        if user.has_role("signer"):
            signer = session.get(User, user.id)
            body["signer"] = [g.as_dict() for g in signer_gaps(session, signer, now)]
        if user.agency_id is not None and (user.has_role("clerk") or user.has_role("signer")):
            agency = session.get(Agency, user.agency_id)
            body["agency"] = [g.as_dict() for g in agency_gaps(session, agency, now)]
    body["ready"] = not any(g["severity"] == "block" for gaps in (body["signer"] or [], body["agency"] or [])
                            for g in gaps)
    return body


# -- the set-up pages ---------------------------------------------------------------------------------------
def signer_setup(system, username: str, now: datetime) -> dict:
    """A signer's set-up: the user (agency and roles loaded), their credentials (the active one first, then the
    newest), what is still missing, and the active credential."""
    with reading(system) as session:
        return signer_setup_of(session, find_user(session, username), now)


def seal_setup(system, agency_ref: str, now: datetime) -> dict:
    """An agency's seal set-up: the agency, its seal credentials, what is still missing, the active credential."""
    with reading(system) as session:
        return seal_setup_of(session, find_agency(session, agency_ref), now)


def signer_setup_of(session: Session, signer: User, now: datetime) -> dict:
    _ = signer.agency, signer.roles
    credentials = [credential_view(r, now) for r in credentials_of(session, user=signer)]
    gaps = [g.as_dict() for g in signer_gaps(session, signer, now)]
    return {"signer": signer, "credentials": credentials, "gaps": gaps,
            "active": next((c for c in credentials if c["active"]), None)}


def seal_setup_of(session: Session, agency: Agency, now: datetime) -> dict:
    credentials = [credential_view(r, now) for r in credentials_of(session, agency=agency)]
    gaps = [g.as_dict() for g in agency_gaps(session, agency, now)]
    return {"agency": agency, "credentials": credentials, "gaps": gaps,
            "active": next((c for c in credentials if c["active"]), None)}
