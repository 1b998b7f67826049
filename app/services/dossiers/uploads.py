"""A scanned original as it enters the system: checked once (a PDF within the size limit, not encrypted, with
pages; repaired or cleaned of active content when needed) and written once to the content-addressed file store,
before the transaction that refers to it commits."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import signing

from app.errors import BadRequest, TooLarge, Unprocessable, UnsupportedMediaType


def inspect_upload(system, data: bytes | None) -> signing.OriginalInfo:
    """The checked scan, or a clear 4xx naming what is wrong with the file."""
    if data is None:
        raise BadRequest("Thiếu tệp bản scan bản chính (trường 'original').", code="missing_file")
    try:
        return signing.inspect_original(data, system.settings.max_upload_bytes)
    except signing.InvalidPdf as exc:
        limit_mb = system.settings.max_upload_bytes // (1024 * 1024)
        messages = {
            "pdf_too_large": (TooLarge, f"Tệp vượt quá dung lượng cho phép ({limit_mb} MB)."),
            "not_pdf": (UnsupportedMediaType, "Tệp tải lên không phải là tệp PDF."),
            "empty_pdf": (Unprocessable, "Tệp PDF rỗng."),
            "truncated_pdf": (Unprocessable, "Tệp PDF bị hỏng hoặc không đầy đủ."),
            "encrypted_pdf": (Unprocessable, "Tệp PDF có mật khẩu hoặc bị mã hóa; hãy tải bản không mã hóa."),
            "no_pages": (Unprocessable, "Tệp PDF không có trang nào."),
        }
        cls, message = messages.get(exc.code, (Unprocessable, f"Tệp PDF không dùng được: {exc}"))
        raise cls(message, code=exc.code) from None


@dataclass(frozen=True)
class StoredOriginal:
    """A checked scan in the file store: the upload as received, and the file to certify (the upload itself, or
    its rewritten copy when it was repaired or had active content removed)."""
    uploaded_sha256: str
    size: int
    usable_sha256: str
    usable_size: int
    pages: int
    filename: str
    repaired: bool = False
    active_content_removed: tuple[str, ...] = ()

    @property
    def rewritten(self) -> bool:
        return self.repaired or bool(self.active_content_removed)

    def as_dict(self) -> dict:
        return {**asdict(self), "active_content_removed": list(self.active_content_removed)}

    @classmethod
    def from_dict(cls, values: dict) -> StoredOriginal:
        return cls(**{**values, "active_content_removed": tuple(values.get("active_content_removed") or ())})


def store_original(system, data: bytes | None, filename: str) -> StoredOriginal:
    """Check a scan and put it (and its rewritten copy, if any) in the file store."""
    info = inspect_upload(system, data)
    uploaded = system.files.put(data)
    usable = system.files.put(info.pdf) if info.rewritten else uploaded
    return StoredOriginal(uploaded_sha256=uploaded, size=len(data), usable_sha256=usable, usable_size=len(info.pdf),
                          pages=info.pages, filename=(filename or "original.pdf")[:255], repaired=info.repaired,
                          active_content_removed=tuple(info.active_content_removed))


def is_stored(system, original: StoredOriginal) -> bool:
    """Whether both files of a stored original are still in the file store."""
    return system.files.exists(original.uploaded_sha256) and system.files.exists(original.usable_sha256)
