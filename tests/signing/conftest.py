"""Fixtures for the signing/ tests: a dev PKI, credentials, and real PDFs.

PDFs are generated here (pypdf text pages, a Pillow image-only "scan", a
file with a broken cross-reference table); nothing binary is committed.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

import signing

PASSPHRASE = "dev-pin 1234"
OFFICER = ("dvbang", "Dương Văn Bằng")
OFFICER_TITLE = "Trưởng phòng Tư pháp"
AGENCY = ("000.00.38.H03", "Phòng Tư pháp huyện Pác Nặm")
REGISTER = "01/2024"
NUMBER = 12
CERTIFIED_ON = date(2026, 11, 25)
VERIFY_URL = "https://certcopy.example.vn/verify/000.00.38.H03-261125-0006"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------
# PDF generators


def text_pdf(pages: int = 3, *, rotate_last: int = 0, blank_last: bool = False) -> bytes:
    """A pypdf-made PDF with Helvetica text on every page."""
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for n in range(pages):
        page = writer.add_blank_page(595, 842)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        last = n == pages - 1
        if not (last and blank_last):
            lines = [
                f"BT /F1 12 Tf 60 {790 - 18 * i} Td (Page {n + 1} line {i}: original text.) Tj ET"
                for i in range(12)
            ]
            content = DecodedStreamObject()
            content.set_data("\n".join(lines).encode("ascii"))
            page[NameObject("/Contents")] = writer._add_object(content)
        if last and rotate_last:
            page[NameObject("/Rotate")] = NumberObject(rotate_last)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scan_pdf(pages: int = 3, seed: int = 1) -> bytes:
    """An image-only multi-page PDF as Pillow writes it (its xref table is
    not accepted by strict parsers: it has to be repaired)."""
    rng = random.Random(seed)
    images = []
    for _ in range(pages):
        img = Image.new("RGB", (620, 877), (250, 250, 245))
        px = img.load()
        for _ in range(4000):  # some "ink"
            x, y = rng.randrange(40, 580), rng.randrange(40, 600)
            px[x, y] = (20, 20, 20)
        images.append(img)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=75)
    return out.getvalue()


def broken_xref_pdf(pages: int = 2) -> bytes:
    """A valid pypdf PDF whose objects were shifted after the xref was written
    (every offset in the table is wrong, startxref is fixed up)."""
    data = text_pdf(pages)
    index = data.index(b"2 0 obj")
    junk = b"% inserted by a broken tool\n"
    broken = data[:index] + junk + data[index:]
    sx = broken.rindex(b"startxref") + len(b"startxref\n")
    end = broken.index(b"\n", sx)
    broken = broken[:sx] + str(int(broken[sx:end]) + len(junk)).encode() + broken[end:]
    return broken


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf(1)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zero_page_pdf() -> bytes:
    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


# --------------------------------------------------------------------------
# external tools


def run_tool(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=check)


def require_tool(name: str) -> None:
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> signing.DevPki:
    return signing.create_dev_pki(
        tmp_path_factory.mktemp("pki"),
        agencies=[AGENCY],
        signers=[OFFICER],
        passphrase=PASSPHRASE,
    )


@pytest.fixture(scope="session")
def officer(pki) -> signing.Credential:
    return signing.load_pkcs12(pki.signer_p12[OFFICER[0]].read_bytes(), PASSPHRASE)


@pytest.fixture(scope="session")
def agency(pki) -> signing.Credential:
    return signing.load_pkcs12(pki.seal_p12[AGENCY[0]].read_bytes(), PASSPHRASE)


@pytest.fixture(scope="session")
def timestamper(pki) -> signing.Timestamper:
    return signing.local_timestamper(pki)


@pytest.fixture(scope="session")
def signature_png() -> bytes:
    return signing.make_signature_image(OFFICER[1], OFFICER_TITLE)


@pytest.fixture(scope="session")
def seal_png() -> bytes:
    return signing.make_seal_image(AGENCY[1])


@dataclass(frozen=True)
class Certified:
    kind: str
    placement: str
    original: bytes
    original_pages: int
    prepared: signing.PreparedCopy
    attested: bytes
    sealed: bytes
    path: Path
    signing_time: datetime


@pytest.fixture(scope="session")
def certify(officer, agency, signature_png, seal_png, timestamper, tmp_path_factory) -> Callable:
    """certify(kind, placement, original=None, timestamped=False) -> Certified (memoised)."""
    cache: dict = {}
    out_dir = tmp_path_factory.mktemp("certified")

    def run(kind: str, placement: str, original: bytes | None = None, timestamped: bool = False):
        key = (kind, placement, timestamped)
        if original is None and key in cache:
            return cache[key]
        if original is None:
            original = {"text": text_pdf, "scan": scan_pdf, "broken": broken_xref_pdf}[kind]()
        info = signing.inspect_original(original)
        when = datetime(2026, 11, 25, 3, 15, tzinfo=timezone.utc)  # 10:15 in Vietnam
        prepared = signing.prepare(info.pdf, placement)
        ts = timestamper if timestamped else None
        attested = signing.attest(
            prepared,
            officer,
            full_name=OFFICER[1],
            title=OFFICER_TITLE,
            signature_image=signature_png,
            timestamper=ts,
            signing_time=when,
        )
        sealed = signing.seal(
            attested,
            agency,
            seal_image=seal_png,
            certification_number=NUMBER,
            register_name=REGISTER,
            certified_on=CERTIFIED_ON,
            verify_url=VERIFY_URL,
            timestamper=ts,
            signing_time=when + timedelta(hours=2),
        )
        path = out_dir / f"{kind}-{placement}-{'bt' if timestamped else 'bb'}-{len(cache)}.pdf"
        path.write_bytes(sealed)
        result = Certified(kind, placement, original, info.pages, prepared, attested, sealed, path, when)
        cache[key] = result
        return result

    return run


def ink_fraction(png_path: Path, box: tuple[int, int, int, int] | None = None) -> float:
    """Share of non-white pixels of an image (optionally inside a box)."""
    with Image.open(png_path) as img:
        img = img.convert("L")
        if box is not None:
            img = img.crop(box)
        hist = img.histogram()
    total = sum(hist)
    return sum(hist[:200]) / total if total else 0.0


def field_rect(pdf: bytes, name: str) -> tuple[float, float, float, float]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields

    reader = PdfFileReader(io.BytesIO(pdf))
    _, _, ref = next(fields.enumerate_sig_fields(reader, with_name=name))
    x0, y0, x1, y1 = (float(v) for v in ref.get_object()["/Rect"])
    return x0, y0, x1, y1


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)




class Helpers:
    """Generators and helpers, handed to tests through the ``h`` fixture
    (test modules never import conftest)."""

    PASSPHRASE = PASSPHRASE
    OFFICER = OFFICER
    OFFICER_TITLE = OFFICER_TITLE
    AGENCY = AGENCY
    REGISTER = REGISTER
    NUMBER = NUMBER
    CERTIFIED_ON = CERTIFIED_ON
    VERIFY_URL = VERIFY_URL

    nfc = staticmethod(nfc)
    text_pdf = staticmethod(text_pdf)
    scan_pdf = staticmethod(scan_pdf)
    broken_xref_pdf = staticmethod(broken_xref_pdf)
    encrypted_pdf = staticmethod(encrypted_pdf)
    zero_page_pdf = staticmethod(zero_page_pdf)
    run_tool = staticmethod(run_tool)
    require_tool = staticmethod(require_tool)
    ink_fraction = staticmethod(ink_fraction)
    field_rect = staticmethod(field_rect)
    page_count = staticmethod(page_count)


@pytest.fixture(scope="session")
def h() -> type[Helpers]:
    return Helpers
