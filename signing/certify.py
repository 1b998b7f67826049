"""Preparing, attesting and sealing a certified copy."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal
from zoneinfo import ZoneInfo

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp.base import BaseStampStyle

from ._loop import outside_event_loop
from .credentials import Credential
from .errors import InvalidPdf, SigningError
from .original import DEFAULT_MAX_BYTES, inspect_original
from .stamps import (
    ATTESTATION_TEXT,
    DESIGN_HEIGHT,
    DESIGN_WIDTH,
    AttestationStampStyle,
    SealStampStyle,
    nfc,
)

__all__ = [
    "ATTESTATION_FIELD",
    "SEAL_FIELD",
    "Placement",
    "PreparedCopy",
    "prepare",
    "attest",
    "seal",
    "VIETNAM_TZ",
]

logger = logging.getLogger(__name__)

ATTESTATION_FIELD = "attestation"
REGISTER_SUFFIX = "-SCTĐT/BS"
SEAL_FIELD = "seal"
VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Placement = Literal["new_page", "last_page"]

A4 = (595.28, 841.89)
# the attestation area: two fields side by side, on the design aspect ratio
_GAP = 15.0
_AREA_WIDTH = 2 * DESIGN_WIDTH + _GAP
_MARGIN_X = 40.0
_TOP_MARGIN_NEW_PAGE = 60.0
_BOTTOM_MARGIN_LAST_PAGE = 30.0

# bytes of CMS data reserved in the signature dictionary
_BASE_RESERVE = 4096
_TIMESTAMP_RESERVE = 16384
_CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class PreparedCopy:
    """An original plus one incremental revision that adds the attestation
    area and both (empty) signature fields."""

    pdf: bytes
    original_pages: int
    placement: Placement


# --------------------------------------------------------------------------
# prepare


def prepare(
    original: bytes,
    placement: Placement = "new_page",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> PreparedCopy:
    """Add the attestation area and the two signature fields in ONE revision.

    ``placement="new_page"`` (default) appends a blank A4 page for the
    attestation; ``"last_page"`` uses the bottom area of the document's own
    last page.  The fields are named ``"attestation"`` (officer) and
    ``"seal"`` (agency).  Runs :func:`inspect_original` first, so the same
    :class:`~signing.InvalidPdf` refusals apply.
    """
    if placement not in ("new_page", "last_page"):
        raise ValueError(f"unknown placement {placement!r}")
    info = inspect_original(original, max_bytes=max_bytes)
    buf = io.BytesIO(info.pdf)
    try:
        writer = IncrementalPdfFileWriter(buf, strict=True)
        for name in (ATTESTATION_FIELD, SEAL_FIELD):
            if any(True for _ in fields.enumerate_sig_fields(writer, with_name=name)):
                raise SigningError(
                    "field_exists",
                    f"The PDF already has a signature field named {name!r} "
                    "(is it already a certified copy?).",
                )
        if placement == "new_page":
            page = generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Page"),
                    pdf_name("/MediaBox"): generic.ArrayObject(
                        [generic.FloatObject(v) for v in (0, 0, *A4)]
                    ),
                    pdf_name("/Resources"): generic.DictionaryObject(),
                }
            )
            writer.insert_page(page)
            page_index = info.pages
        else:
            page_index = info.pages - 1

        page_ref = writer.find_page_for_modification(page_index)[0]
        page = page_ref.get_object()
        box, rotation = _page_geometry(page)
        attestation_rect, seal_rect = _field_rects(box, rotation, placement)
        for name, rect, label in (
            (ATTESTATION_FIELD, attestation_rect, "Chữ ký của người thực hiện chứng thực"),
            (SEAL_FIELD, seal_rect, "Con dấu của cơ quan thực hiện chứng thực"),
        ):
            fields.append_signature_field(
                writer,
                SigFieldSpec(
                    sig_field_name=name,
                    on_page=page_index,
                    box=rect,
                    readable_field_name=label,
                ),
            )
            if rotation:
                _, _, field_ref = next(fields.enumerate_sig_fields(writer, with_name=name))
                field_ref.get_object()[pdf_name("/MK")] = generic.DictionaryObject(
                    {pdf_name("/R"): generic.NumberObject(rotation)}
                )
        writer.write_in_place()
    except SigningError:
        raise
    except Exception as exc:
        logger.warning("prepare failed: %s", exc)
        raise InvalidPdf("not_pdf", "The PDF could not be prepared for signing.") from exc
    return PreparedCopy(pdf=_take(buf), original_pages=info.pages, placement=placement)


def _take(buf: io.BytesIO) -> bytes:
    """The buffer's content, detached from the buffer.

    pyHanko's reader/writer objects form reference cycles that keep the
    BytesIO alive until the garbage collector runs; closing it now releases
    its reference to the (possibly 30 MB) document.
    """
    data = buf.getvalue()
    buf.close()
    return data


def _inherited(page: generic.DictionaryObject, key: str):
    node = page
    for _ in range(64):
        if key in node:
            return node[key]
        parent = node.get("/Parent")
        if parent is None:
            return None
        node = parent.get_object()
    return None


def _page_geometry(page: generic.DictionaryObject) -> tuple[tuple[float, float, float, float], int]:
    """Visible page box (CropBox within MediaBox) and the page rotation."""

    def as_box(value) -> tuple[float, float, float, float] | None:
        try:
            x0, y0, x1, y1 = (float(v) for v in value)
        except (TypeError, ValueError):
            return None
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    media = as_box(_inherited(page, "/MediaBox")) or (0.0, 0.0, *A4)
    crop = as_box(_inherited(page, "/CropBox"))
    if crop is not None:
        x0, y0 = max(media[0], crop[0]), max(media[1], crop[1])
        x1, y1 = min(media[2], crop[2]), min(media[3], crop[3])
        if x1 - x0 > 1 and y1 - y0 > 1:
            media = (x0, y0, x1, y1)
    try:
        rotation = int(_inherited(page, "/Rotate") or 0) % 360
    except (TypeError, ValueError):
        rotation = 0
    if rotation not in (0, 90, 180, 270):
        rotation = 0
    return media, rotation


def _field_rects(
    box: tuple[float, float, float, float], rotation: int, placement: Placement
) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float]]:
    """Rectangles (default user space) of the attestation and seal fields."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    # dimensions as the reader sees the page
    vw, vh = (width, height) if rotation in (0, 180) else (height, width)
    margin = min(_MARGIN_X, vw * 0.05)
    scale = min(1.0, (vw - 2 * margin) / _AREA_WIDTH, (vh * 0.45) / DESIGN_HEIGHT)
    fw, fh, gap = DESIGN_WIDTH * scale, DESIGN_HEIGHT * scale, _GAP * scale
    left = (vw - (2 * fw + gap)) / 2
    if placement == "new_page":
        bottom = vh - min(_TOP_MARGIN_NEW_PAGE, vh * 0.07) - fh
    else:
        bottom = min(_BOTTOM_MARGIN_LAST_PAGE, vh * 0.04)

    def to_user(u: float, v: float) -> tuple[float, float]:
        if rotation == 0:
            return x0 + u, y0 + v
        if rotation == 90:
            return x0 + width - v, y0 + u
        if rotation == 180:
            return x0 + width - u, y0 + height - v
        return x0 + v, y0 + height - u  # 270

    def rect(u: float, v: float) -> tuple[float, float, float, float]:
        ax, ay = to_user(u, v)
        bx, by = to_user(u + fw, v + fh)
        return (
            round(min(ax, bx), 2),
            round(min(ay, by), 2),
            round(max(ax, bx), 2),
            round(max(ay, by), 2),
        )

    return rect(left, bottom), rect(left + fw + gap, bottom)


# --------------------------------------------------------------------------
# signing


def vietnam_time(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    return moment.astimezone(VIETNAM_TZ)


def format_signed_at(moment: datetime) -> str:
    """``"Ngày ký: 25/11/2026 10:15"`` in Vietnam time."""
    local = vietnam_time(moment)
    return f"Ngày ký: {local:%d/%m/%Y %H:%M}"


def format_certified_on(day: date) -> str:
    """``"Ngày 05 tháng 11 năm 2026"`` (two-digit day and month, as on the
    certified copies of the national portal)."""
    return f"Ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


class _PdfSigner(signers.PdfSigner):
    """PdfSigner with a caller-chosen signing time."""

    def __init__(self, *args, signing_time: datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        if self._signing_time is not None:
            session.system_time = self._signing_time
        return session


def _reserve(credential: Credential, timestamper: TimeStamper | None) -> int:
    certs = sum(len(c.dump()) for c in credential.certificates())
    reserve = _BASE_RESERVE + certs
    if timestamper is not None:
        reserve += _TIMESTAMP_RESERVE
    return reserve + (reserve % 2)


def _field_state(pdf: bytes) -> dict[str, bool]:
    """Map of signature field name -> filled, read from the latest revision."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        with io.BytesIO(pdf) as stream:
            reader = PdfFileReader(stream, strict=True)
            return {
                name: value is not None
                for name, value, _ in fields.enumerate_sig_fields(reader)
            }
    except Exception as exc:
        raise InvalidPdf("not_pdf", "The document could not be read as a PDF.") from exc


@outside_event_loop
def _sign(
    pdf: bytes,
    *,
    credential: Credential,
    meta: signers.PdfSignatureMetadata,
    style: BaseStampStyle,
    timestamper: TimeStamper | None,
    signing_time: datetime,
) -> bytes:
    reserve = _reserve(credential, timestamper)
    for attempt in range(2):
        buf = io.BytesIO(pdf)
        try:
            writer = IncrementalPdfFileWriter(buf, strict=True)
            pdf_signer = _PdfSigner(
                meta,
                credential.signer,
                timestamper=timestamper,
                stamp_style=style,
                signing_time=signing_time,
            )
            pdf_signer.sign_pdf(
                writer,
                existing_fields_only=True,
                bytes_reserved=reserve,
                in_place=True,
                chunk_size=_CHUNK_SIZE,
            )
        except SigningError:
            raise
        except TimestampRequestError as exc:
            raise SigningError(
                "timestamp_failed", "The time-stamping authority did not return a timestamp."
            ) from exc
        except PyHankoSigningError as exc:
            if "larger than expected" in str(exc) and attempt == 0:
                reserve *= 2
                continue
            logger.warning("signing failed: %s", exc)
            raise SigningError("signing_failed", "The document could not be signed.") from exc
        except Exception as exc:
            if _is_timestamp_error(exc):
                raise SigningError(
                    "timestamp_failed", "The time-stamping authority could not be reached."
                ) from exc
            logger.warning("signing failed: %s", exc, exc_info=True)
            raise SigningError("signing_failed", "The document could not be signed.") from exc
        return _take(buf)
    raise SigningError("signing_failed", "The document could not be signed.")  # pragma: no cover


def _is_timestamp_error(exc: BaseException) -> bool:
    try:
        import aiohttp

        if isinstance(exc, (aiohttp.ClientError, TimeoutError)):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, TimestampRequestError)


def attest(
    prepared: PreparedCopy,
    credential: Credential,
    *,
    full_name: str,
    title: str,
    signature_image: bytes,
    timestamper: TimeStamper | None = None,
    signing_time: datetime | None = None,
) -> bytes:
    """The officer's PAdES certification signature (DocMDP: form filling).

    Fills the ``"attestation"`` field with a visible stamp: "Chứng thực bản
    sao đúng với bản chính", ``full_name``, ``title``, ``signature_image``
    (PNG or JPEG bytes) and the signing time in Vietnam time.  With a
    ``timestamper`` the signature is PAdES B-T.  ``signing_time`` (aware
    datetime, default now) is what the stamp shows and the signature claims.
    """
    moment = signing_time or datetime.now(timezone.utc)
    vietnam_time(moment)  # rejects naive datetimes
    state = _field_state(prepared.pdf)
    if ATTESTATION_FIELD not in state or SEAL_FIELD not in state:
        raise SigningError(
            "field_missing", "The document has no attestation area; call prepare() first."
        )
    if state[ATTESTATION_FIELD]:
        raise SigningError("already_signed", "The copy has already been attested.")
    style = AttestationStampStyle(
        full_name=nfc(full_name).strip(),
        title=nfc(title).strip(),
        signature_image=signature_image,
        signed_at_text=format_signed_at(moment),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=ATTESTATION_FIELD,
        certify=True,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=ATTESTATION_TEXT,
        name=nfc(full_name).strip() or None,
    )
    return _sign(
        prepared.pdf,
        credential=credential,
        meta=meta,
        style=style,
        timestamper=timestamper,
        signing_time=moment,
    )


def seal(
    attested: bytes,
    credential: Credential,
    *,
    seal_image: bytes,
    certification_number: int,
    register_name: str,
    certified_on: date,
    verify_url: str,
    timestamper: TimeStamper | None = None,
    signing_time: datetime | None = None,
) -> bytes:
    """The agency's PAdES approval signature in the pre-made ``"seal"`` field.

    The visible stamp shows the seal image, "Số chứng thực: {n}/ĐT",
    "Quyển số: {register_name}-SCTĐT/BS" (``register_name`` is e.g.
    ``"01/2024"``; a trailing ``-SCTĐT/BS`` is not repeated),
    "Ngày {dd} tháng {mm} năm {yyyy}" and a QR code of ``verify_url``.  The officer's certification signature
    stays valid (filling a signature field is allowed by its DocMDP level).
    ``signing_time`` (aware datetime, default now) is the time the signature
    claims (an extension of the agreed signature; optional).
    """
    moment = signing_time or datetime.now(timezone.utc)
    vietnam_time(moment)  # rejects naive datetimes
    if isinstance(certification_number, bool) or not isinstance(certification_number, int):
        raise TypeError("certification_number must be an int")
    if certification_number < 1:
        raise ValueError("certification_number must be positive")
    register_name = nfc(register_name).strip()
    suffix = nfc(REGISTER_SUFFIX)
    if register_name.upper().endswith(suffix):  # tolerate the suffix being passed in
        register_name = register_name[: -len(suffix)].rstrip()
    if not register_name:
        raise ValueError("register_name must not be empty")
    state = _field_state(attested)
    if SEAL_FIELD not in state or ATTESTATION_FIELD not in state:
        raise SigningError(
            "field_missing", "The document has no seal field; it was not prepared by prepare()."
        )
    if not state[ATTESTATION_FIELD]:
        raise SigningError("not_attested", "The copy must be attested by the officer before sealing.")
    if state[SEAL_FIELD]:
        raise SigningError("already_signed", "The copy has already been sealed.")
    lines = (
        f"Số chứng thực: {certification_number}/ĐT",
        f"Quyển số: {register_name}{suffix}",
        format_certified_on(certified_on),
    )
    style = SealStampStyle(seal_image=seal_image, lines=lines, verify_url=verify_url)
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=nfc(f"Đóng dấu; {lines[0]}; {lines[1]}"),
    )
    return _sign(
        attested,
        credential=credential,
        meta=meta,
        style=style,
        timestamper=timestamper,
        signing_time=moment,
    )
