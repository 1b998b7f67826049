"""Visible appearances of the attestation and seal signatures.

Text is set with Noto Sans (embedded, subset) through pyHanko's OpenType
support, so Vietnamese diacritics render and extract correctly.  The subset
font programs are cached in-process by glyph set: a signer's stamp uses the
same glyphs every time (digits are always included), so after the first
signature no font subsetting is needed.

Each stamp is laid out on a fixed design canvas (:data:`DESIGN_WIDTH` x
:data:`DESIGN_HEIGHT`) and scaled into the signature field.  Fields on pages
with a ``/Rotate`` entry carry ``/MK /R``; the appearance is counter-rotated
so that it reads upright.
"""

from __future__ import annotations

import hashlib
import io
import threading
import unicodedata
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from fontTools import subset
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.api import FontEngine
from pyhanko.pdf_utils.font.opentype import (
    CIDFontType2,
    GlyphAccumulator,
    _read_ps_name,
)
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter, init_xobject_dictionary
from pyhanko.stamp.base import BaseStamp, BaseStampStyle

from .errors import SigningError

__all__ = [
    "AttestationStampStyle",
    "SealStampStyle",
    "DESIGN_WIDTH",
    "DESIGN_HEIGHT",
    "font_bytes",
    "nfc",
]

_FONT_FILES = {"regular": "NotoSans-Regular.ttf", "bold": "NotoSans-Bold.ttf"}

DESIGN_WIDTH = 250.0
DESIGN_HEIGHT = 170.0

_MAX_IMAGE_SIDE = 1200
_MAX_IMAGE_PIXELS = 40_000_000
_STABLE_GLYPHS = "0123456789/:.,-() "
_SUBSET_CACHE_SIZE = 128  # compressed font programs, ~10-20 KB each
_IMAGE_CACHE_SIZE = 32  # prepared signature/seal images


def nfc(text: str) -> str:
    """Unicode NFC normalisation (all stamp text goes through this)."""
    return unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------------
# fonts


@lru_cache(maxsize=None)
def font_bytes(weight: str = "regular") -> bytes:
    """The shipped Noto Sans font program ("regular" or "bold"), for anything that draws Vietnamese text."""
    return (files(__package__) / "fonts" / _FONT_FILES[weight]).read_bytes()


class _LruCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_subset_cache = _LruCache(_SUBSET_CACHE_SIZE)
_image_cache = _LruCache(_IMAGE_CACHE_SIZE)


class _CachedProgramCIDFont(CIDFontType2):
    """CIDFontType2 whose embedded font program is supplied by the engine."""

    program: bytes | None = None

    def set_font_file(self, writer: BasePdfFileWriter):
        assert self.program is not None
        stream = generic.StreamObject(
            {pdf_name("/Filter"): pdf_name("/FlateDecode")},
            encoded_data=self.program,
        )
        ref = writer.add_object(stream)
        self._font_descriptor[pdf_name("/FontFile2")] = ref
        return ref


@dataclass(frozen=True)
class _SharedFont:
    """Parsed font shared (read-only) by all engines of a process."""

    data: bytes
    tt: TTFont
    hb_font: object
    ps_name: str
    glyph_set: object
    reverse_cmap: dict


_shared_fonts: dict[str, _SharedFont] = {}
_shared_fonts_lock = threading.Lock()


def _shared_font(weight: str) -> _SharedFont:
    font = _shared_fonts.get(weight)
    if font is not None:
        return font
    with _shared_fonts_lock:
        font = _shared_fonts.get(weight)
        if font is None:
            import uharfbuzz as hb

            data = font_bytes(weight)
            tt = TTFont(io.BytesIO(data))
            if tt["head"].unitsPerEm != 1000:  # pragma: no cover - see tests
                raise RuntimeError(f"{_FONT_FILES[weight]}: unitsPerEm must be 1000")
            if "CFF " in tt:  # pragma: no cover - we ship TrueType outlines
                raise RuntimeError("CFF fonts are not supported for stamps")
            # load every table we read later, so that sharing between threads
            # never triggers fontTools' lazy loading
            for tag in ("cmap", "hmtx", "hhea", "head", "OS/2", "post", "name", "maxp"):
                tt[tag]  # noqa: B018
            tt.getGlyphOrder()
            font = _SharedFont(
                data=data,
                tt=tt,
                hb_font=hb.Font(hb.Face(data)),
                ps_name=_read_ps_name(tt),
                glyph_set=tt.getGlyphSet(preferCFF=True),
                reverse_cmap=tt["cmap"].buildReversed(),
            )
            _shared_fonts[weight] = font
    return font


def _subset_program(font: _SharedFont, gids: frozenset[int]) -> bytes:
    """Subset (GIDs retained, as pyHanko does) and compress the font program."""
    tt = TTFont(io.BytesIO(font.data))
    options = subset.Options(layout_closure=False)
    options.drop_tables += ["GPOS", "GDEF", "GSUB"]
    options.retain_gids = True
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(gids=sorted(gids))
    subsetter.subset(tt)
    buf = io.BytesIO()
    tt.save(buf)
    return zlib.compress(buf.getvalue(), 6)


class _FontEngine(GlyphAccumulator):
    """pyHanko's GlyphAccumulator over a shared parsed font, with a
    process-wide cache of subset font programs keyed by glyph set.

    pyHanko's own constructor parses the font file every time (~20 ms for
    Noto Sans) and its subsetting costs ~100 ms per stamp.
    """

    def __init__(self, writer: BasePdfFileWriter, weight: str) -> None:  # noqa: D107
        font = _shared_font(weight)
        # what GlyphAccumulator.__init__ sets up, without re-parsing the font
        FontEngine.__init__(
            self, writer, font.ps_name, embedded_subset=True, obj_stream=None, font_size=10
        )
        self._weight = weight
        self._shared = font
        self.hb_font = font.hb_font
        self.tt = font.tt
        self._font_ref = writer.allocate_placeholder()
        self.cff_charset = None
        self.use_raw_gids = True
        self.cidfont_obj = _CachedProgramCIDFont(font.tt, font.ps_name, self.subset_prefix)
        self.features = None
        self.units_per_em = font.tt["head"].unitsPerEm
        self._glyphs = {}
        self._glyph_set = font.glyph_set
        self._cid_to_unicode = {}
        self._GlyphAccumulator__reverse_cmap = None
        self.ot_language_tag = None
        self.ot_script_tag = None
        self.writing_direction = None
        self.bcp47_lang_code = None
        self._subset_created = False
        self._write_prepared = False
        # glyphs that vary between signatures (dates, numbers) are always
        # present, so that the glyph set (and the cache key) is stable
        self.shape(_STABLE_GLYPHS, with_actual_text=False)

    @property
    def _reverse_cmap(self):
        return self._shared.reverse_cmap

    def _extract_subset(self, options=None):  # pragma: no cover - never on the shared font
        raise AssertionError("the shared font must not be subset in place")

    def prepare_write(self):
        if self._write_prepared:
            return
        key = (self._weight, frozenset(self._glyphs))
        program = _subset_cache.get(key)
        if program is None:
            program = _subset_program(self._shared, key[1])
            _subset_cache.put(key, program)
        self.cidfont_obj.program = program
        self._subset_created = True
        super().prepare_write()


# --------------------------------------------------------------------------
# images


@dataclass(frozen=True)
class _PreparedImage:
    width: int
    height: int
    colorspace: str
    filter: str
    data: bytes
    smask: bytes | None


def _prepare_image(data: bytes) -> _PreparedImage:
    key = hashlib.sha256(data).digest()
    cached = _image_cache.get(key)
    if cached is not None:
        return cached
    from PIL import Image

    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > _MAX_IMAGE_PIXELS:
            raise SigningError("bad_image", "The image is too large.")
        img.load()
    except SigningError:
        raise
    except Exception:
        raise SigningError("bad_image", "The image could not be read (use PNG or JPEG).") from None

    if (
        img.format == "JPEG"
        and img.mode in ("L", "RGB")
        and max(img.size) <= _MAX_IMAGE_SIDE
    ):
        prepared = _PreparedImage(
            img.width,
            img.height,
            "/DeviceGray" if img.mode == "L" else "/DeviceRGB",
            "/DCTDecode",
            data,
            None,
        )
    else:
        if img.mode in ("P", "PA") or (img.mode in ("L", "RGB") and "transparency" in img.info):
            img = img.convert("RGBA")
        elif img.mode in ("1", "I", "I;16", "F"):
            img = img.convert("L")
        elif img.mode not in ("L", "LA", "RGB", "RGBA"):
            img = img.convert("RGB")
        if max(img.size) > _MAX_IMAGE_SIDE:
            img.thumbnail((_MAX_IMAGE_SIDE, _MAX_IMAGE_SIDE))
        smask = None
        if img.mode in ("LA", "RGBA"):
            alpha = img.getchannel("A")
            img = img.convert(img.mode[:-1])
            if alpha.getextrema() != (255, 255):
                smask = zlib.compress(alpha.tobytes(), 6)
        prepared = _PreparedImage(
            img.width,
            img.height,
            "/DeviceGray" if img.mode == "L" else "/DeviceRGB",
            "/FlateDecode",
            zlib.compress(img.tobytes(), 6),
            smask,
        )
    _image_cache.put(key, prepared)
    return prepared


def _image_xobject(writer: BasePdfFileWriter, image: _PreparedImage) -> generic.IndirectObject:
    def stream(colorspace: str, filt: str, data: bytes) -> generic.StreamObject:
        return generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Image"),
                pdf_name("/Width"): generic.NumberObject(image.width),
                pdf_name("/Height"): generic.NumberObject(image.height),
                pdf_name("/ColorSpace"): pdf_name(colorspace),
                pdf_name("/BitsPerComponent"): generic.NumberObject(8),
                pdf_name("/Filter"): pdf_name(filt),
            },
            encoded_data=data,
        )

    main = stream(image.colorspace, image.filter, image.data)
    if image.smask is not None:
        main[pdf_name("/SMask")] = writer.add_object(
            stream("/DeviceGray", "/FlateDecode", image.smask)
        )
    return writer.add_object(main)


def _qr_xobject(writer: BasePdfFileWriter, url: str) -> tuple[generic.IndirectObject, float]:
    import qrcode
    from pyhanko.pdf_utils.qr import PdfStreamQRImage

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    img = qr.make_image(image_factory=PdfStreamQRImage)
    size = (qr.modules_count + 2 * qr.border) * qr.box_size
    white = b"q 1 1 1 rg 0 0 %d %d re f Q\n" % (size, size)
    xobj = init_xobject_dictionary(white + img.render_command_stream(), size, size)
    xobj.compress()
    return writer.add_object(xobj), float(size)


# --------------------------------------------------------------------------
# stamps


def _fmt(value: float) -> bytes:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode("ascii")


_ROTATION_MATRIX = {90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}


class _Stamp(BaseStamp):
    """Common machinery: fonts, text lines, images, rotation, scaling."""

    def __init__(self, writer: BasePdfFileWriter, style: BaseStampStyle, box: layout.BoxConstraints):
        super().__init__(writer=writer, style=style, box=box)
        self._engines: dict[str, _FontEngine] = {}
        self._rotation = 0

    # -- pyHanko hooks ------------------------------------------------------

    def apply_appearance(self, annot_dict: generic.DictionaryObject):
        try:
            rotation = int(annot_dict["/MK"]["/R"]) % 360
        except (KeyError, TypeError, ValueError):
            rotation = 0
        if rotation in _ROTATION_MATRIX:
            self._rotation = rotation
            if rotation in (90, 270):
                self.box = layout.BoxConstraints(width=self.box.height, height=self.box.width)
        super().apply_appearance(annot_dict)

    def as_form_xobject(self) -> generic.StreamObject:
        xobj = super().as_form_xobject()
        if self._rotation:
            a, b, c, d = _ROTATION_MATRIX[self._rotation]
            xobj[pdf_name("/Matrix")] = generic.ArrayObject(
                [generic.NumberObject(v) for v in (a, b, c, d, 0, 0)]
            )
        return xobj

    def _render_inner_content(self):
        box = self.box
        scale = min(box.width / DESIGN_WIDTH, box.height / DESIGN_HEIGHT)
        dx = (box.width - DESIGN_WIDTH * scale) / 2
        dy = (box.height - DESIGN_HEIGHT * scale) / 2
        commands = [b"q %s 0 0 %s %s %s cm" % (_fmt(scale), _fmt(scale), _fmt(dx), _fmt(dy))]
        commands.extend(self._draw())
        commands.append(b"Q")
        return commands

    def _draw(self) -> list[bytes]:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------

    def _engine(self, weight: str) -> tuple[_FontEngine, bytes]:
        name = b"/FR" if weight == "regular" else b"/FB"
        engine = self._engines.get(weight)
        if engine is None:
            engine = self._engines[weight] = _FontEngine(self.writer, weight)
            self.set_resource(
                category=ResourceType.FONT,
                name=pdf_name(name.decode()),
                value=engine.as_resource(),
            )
        return engine, name

    def _text(
        self,
        text: str,
        *,
        x: float,
        baseline: float,
        size: int,
        weight: str = "regular",
        align: str = "left",
        max_width: float | None = None,
        gray: float = 0.0,
    ) -> bytes:
        text = nfc(text)
        engine, font_name = self._engine(weight)
        engine.font_size = size
        shaped = engine.shape(text)
        width = shaped.x_advance * size
        scale = 1.0
        if max_width is not None and width > max_width > 0:
            scale = max_width / width
            width = max_width
        if align == "center":
            x -= width / 2
        elif align == "right":
            x -= width
        return b"q %s g %s 0 0 %s %s %s cm BT %s %d Tf 0 0 Td %s ET Q" % (
            _fmt(gray),
            _fmt(scale),
            _fmt(scale),
            _fmt(x),
            _fmt(baseline),
            font_name,
            size,
            shaped.graphics_ops,
        )

    def _image(self, data: bytes, name: str, *, x: float, y: float, w: float, h: float) -> bytes:
        image = _prepare_image(data)
        ref = _image_xobject(self.writer, image)
        self.set_resource(category=ResourceType.XOBJECT, name=pdf_name("/" + name), value=ref)
        scale = min(w / image.width, h / image.height)
        dw, dh = image.width * scale, image.height * scale
        return b"q %s 0 0 %s %s %s cm /%s Do Q" % (
            _fmt(dw),
            _fmt(dh),
            _fmt(x + (w - dw) / 2),
            _fmt(y + (h - dh) / 2),
            name.encode("ascii"),
        )

    def _qr(self, url: str, *, x: float, y: float, size: float) -> bytes:
        ref, natural = _qr_xobject(self.writer, url)
        self.set_resource(category=ResourceType.XOBJECT, name=pdf_name("/QR"), value=ref)
        scale = size / natural
        return b"q %s 0 0 %s %s %s cm /QR Do Q" % (_fmt(scale), _fmt(scale), _fmt(x), _fmt(y))


# -- attestation ---------------------------------------------------------------

ATTESTATION_TEXT = "Chứng thực bản sao đúng với bản chính"


@dataclass(frozen=True)
class AttestationStampStyle(BaseStampStyle):
    """The officer's stamp: attestation sentence, signature image, name,
    title and signing time."""

    full_name: str = ""
    title: str = ""
    signature_image: bytes = b""
    signed_at_text: str = ""
    border_width: int = 0

    def create_stamp(self, writer, box, text_params) -> "_AttestationStamp":
        return _AttestationStamp(writer, self, box)


class _AttestationStamp(_Stamp):
    style: AttestationStampStyle

    def _draw(self) -> list[bytes]:
        s = self.style
        mid = DESIGN_WIDTH / 2
        usable = DESIGN_WIDTH - 6
        return [
            self._text(ATTESTATION_TEXT, x=mid, baseline=152, size=11, weight="bold",
                       align="center", max_width=usable),
            self._image(s.signature_image, "Sig", x=25, y=64, w=200, h=80),
            self._text(s.full_name, x=mid, baseline=48, size=10, weight="bold",
                       align="center", max_width=usable),
            self._text(s.title, x=mid, baseline=34, size=9, align="center", max_width=usable),
            self._text(s.signed_at_text, x=mid, baseline=16, size=8, align="center",
                       max_width=usable, gray=0.25),
        ]


# -- seal ----------------------------------------------------------------------


@dataclass(frozen=True)
class SealStampStyle(BaseStampStyle):
    """The agency's seal: seal image, certification number, register, date
    and a QR code of the verification URL."""

    seal_image: bytes = b""
    lines: tuple[str, ...] = ()
    verify_url: str = ""
    qr_caption: tuple[str, ...] = ("Quét mã QR", "để kiểm tra", "bản sao")
    border_width: int = 0

    def create_stamp(self, writer, box, text_params) -> "_SealStamp":
        return _SealStamp(writer, self, box)


class _SealStamp(_Stamp):
    style: SealStampStyle

    def _draw(self) -> list[bytes]:
        s = self.style
        column_x = 112.0
        column_w = DESIGN_WIDTH - column_x - 3
        out = [self._image(s.seal_image, "Seal", x=3, y=33, w=104, h=104)]
        baseline = 152.0
        for i, line in enumerate(s.lines):
            out.append(
                self._text(line, x=column_x, baseline=baseline, size=9,
                           weight="bold" if i == 0 else "regular", max_width=column_w)
            )
            baseline -= 14
        if s.verify_url:
            qr_size = 62.0
            qr_y = 24.0
            out.append(self._qr(s.verify_url, x=column_x - 4, y=qr_y, size=qr_size))
            caption_x = column_x + qr_size - 2
            caption_baseline = qr_y + qr_size - 16
            for line in s.qr_caption:
                out.append(
                    self._text(line, x=caption_x, baseline=caption_baseline, size=7,
                               max_width=DESIGN_WIDTH - caption_x - 2, gray=0.3)
                )
                caption_baseline -= 9
        return out
