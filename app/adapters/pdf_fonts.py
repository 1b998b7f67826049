"""Noto Sans for the PDFs the app draws with reportlab (receipts), registered once per process from the
signing package's shipped font programs."""
from __future__ import annotations

import io
import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from signing import font_bytes

REGULAR, BOLD = "NotoSans", "NotoSans-Bold"
_lock = threading.Lock()
_registered: list[bool] = []


def register() -> None:
    """Make `REGULAR` and `BOLD` (one family) known to reportlab."""
    with _lock:
        if not _registered:
            pdfmetrics.registerFont(TTFont(REGULAR, io.BytesIO(font_bytes("regular"))))
            pdfmetrics.registerFont(TTFont(BOLD, io.BytesIO(font_bytes("bold"))))
            pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)
            _registered.append(True)
