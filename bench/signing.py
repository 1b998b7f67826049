"""Benchmark of signing/: prepare + attest + seal against naive pyHanko and SHA-256.

Run:  python bench/signing.py  [--quick]

For a 1-page PDF, a ~5 MB and a ~30 MB scan-like PDF (image-only pages of
noisy JPEG data) it prints, measured in one run:

* ours      - signing.prepare + signing.attest + signing.seal (prepare is
              included; it is also shown on its own), credentials loaded with
              signing.load_pkcs12 (cached), warm font-subset cache;
* naive     - the same two fields and visible signatures with pyHanko defaults:
              SimpleSigner.load_pkcs12 before each signature, no
              bytes_reserved (dry-run size estimate), default writer output
              (a copy of the whole file per revision), GlyphAccumulatorFactory
              stamps (a font subset per stamp);
* sha256    - hashlib.sha256 of the file (the floor: each signature must hash
              the whole file once);
* ratios    - naive/ours (target >= 2) and ours/sha256 (target <= 10 at 30 MB);
* memory    - peak traced allocation of ours (tracemalloc, separate run) as a
              multiple of the file size (target < 3x).

Both sides sign WITHOUT a timestamper (a TSA round trip would be the same on
both sides and only blur the ratios); a last line shows ours with the
in-process TSA for reference.  Keys are ECDSA P-256 from the dev PKI.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory  # noqa: E402
from pyhanko.pdf_utils.images import PdfImage  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.text import TextBoxStyle  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter  # noqa: E402
from pyhanko.stamp import QRStampStyle, TextStampStyle  # noqa: E402

import signing  # noqa: E402
from importlib.resources import files  # noqa: E402

PASSPHRASE = "bench-pin"
NAME = "Nguyễn Thị Thu Hà"
TITLE = "Phó Trưởng phòng Tư pháp"
AGENCY = ("000.00.38.H03", "Phòng Tư pháp huyện Pác Nặm")
URL = "https://certcopy.example.vn/verify/000.00.38.H03-261125-0006"


# --------------------------------------------------------------------------
# documents


def one_page_pdf() -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    lines = [f"BT /F1 11 Tf 60 {780 - 16 * i} Td (Line {i} of a one-page document.) Tj ET" for i in range(40)]
    content.set_data("\n".join(lines).encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scan_pdf(target_bytes: int, pages: int) -> bytes:
    """Image-only pages of noisy JPEG data (what a scanner produces, size-wise)."""
    per_page = target_bytes // pages
    images = []
    for _ in range(pages):
        side = 400
        noise = Image.frombytes("L", (side, side), os.urandom(side * side)).convert("RGB")
        # grow the page until its JPEG reaches the per-page budget
        scale = 2.0
        while True:
            img = noise.resize((int(side * scale), int(side * scale * 1.414)))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=85)
            if buf.tell() >= per_page * 0.9 or scale > 12:
                break
            scale *= (per_page / buf.tell()) ** 0.5 * 1.02
        images.append(img)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=150, quality=85)
    return out.getvalue()


# --------------------------------------------------------------------------
# the two implementations


def ours(original: bytes, pki: signing.DevPki, sig_png: bytes, seal_png: bytes, timestamper=None):
    """prepare + attest + seal; intermediate documents are released as soon as
    the next step has them (as the app does: prepare+attest at the signer's
    step, seal at the clerk's)."""
    t0 = time.perf_counter()
    prepared = signing.prepare(original)
    t1 = time.perf_counter()
    officer = signing.load_pkcs12(pki.signer_p12["bench"].read_bytes(), PASSPHRASE)
    attested = signing.attest(
        prepared, officer, full_name=NAME, title=TITLE, signature_image=sig_png,
        timestamper=timestamper,
    )
    del prepared
    agency = signing.load_pkcs12(pki.seal_p12[AGENCY[0]].read_bytes(), PASSPHRASE)
    sealed = signing.seal(
        attested, agency, seal_image=seal_png, certification_number=6,
        register_name="01/2024", certified_on=date(2026, 11, 25), verify_url=URL,
        timestamper=timestamper,
    )
    del attested
    t2 = time.perf_counter()
    return sealed, t1 - t0, t2 - t0


def naive(original: bytes, pki: signing.DevPki, sig_png: bytes, seal_png: bytes):
    """Straightforward pyHanko code with its defaults."""
    t0 = time.perf_counter()
    font = GlyphAccumulatorFactory(str(files("signing") / "fonts" / "NotoSans-Regular.ttf"))
    # fields, in one revision (same geometry as ours)
    w = IncrementalPdfFileWriter(io.BytesIO(original))
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
            pdf_name("/Resources"): generic.DictionaryObject(),
        }
    )
    w.insert_page(page)
    n = int(w.root["/Pages"]["/Count"]) - 1
    fields.append_signature_field(w, SigFieldSpec("attestation", on_page=n, box=(40, 612, 290, 782)))
    fields.append_signature_field(w, SigFieldSpec("seal", on_page=n, box=(305, 612, 555, 782)))
    out = io.BytesIO()
    w.write(out)

    signer = signers.SimpleSigner.load_pkcs12(
        str(pki.signer_p12["bench"]), passphrase=PASSPHRASE.encode()
    )
    style = TextStampStyle(
        stamp_text=f"Chứng thực bản sao đúng với bản chính\n{NAME}\n{TITLE}\nNgày ký: %(ts)s",
        text_box_style=TextBoxStyle(font=font, font_size=9),
        background=PdfImage(Image.open(io.BytesIO(sig_png))),
        background_opacity=1.0,
    )
    meta = signers.PdfSignatureMetadata(
        field_name="attestation", certify=True, docmdp_permissions=MDPPerm.FILL_FORMS,
        subfilter=SigSeedSubFilter.PADES,
    )
    w = IncrementalPdfFileWriter(io.BytesIO(out.getvalue()))
    attested = signers.PdfSigner(meta, signer, stamp_style=style).sign_pdf(w).getvalue()

    signer = signers.SimpleSigner.load_pkcs12(
        str(pki.seal_p12[AGENCY[0]]), passphrase=PASSPHRASE.encode()
    )
    style = QRStampStyle(
        stamp_text="Số chứng thực: 6/ĐT\nQuyển số: 01/2024-SCTĐT/BS\nNgày 25 tháng 11 năm 2026",
        text_box_style=TextBoxStyle(font=font, font_size=9),
        background=PdfImage(Image.open(io.BytesIO(seal_png))),
        background_opacity=1.0,
    )
    meta = signers.PdfSignatureMetadata(field_name="seal", subfilter=SigSeedSubFilter.PADES)
    w = IncrementalPdfFileWriter(io.BytesIO(attested))
    sealed = signers.PdfSigner(meta, signer, stamp_style=style).sign_pdf(
        w, appearance_text_params={"url": URL}
    ).getvalue()
    return sealed, time.perf_counter() - t0


def sha256_time(data: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        hashlib.sha256(data).digest()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_memory(fn) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


# --------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller large file")
    args = parser.parse_args()

    runs = 3 if args.quick else 5
    big = 10 if args.quick else 30
    with tempfile.TemporaryDirectory(prefix="certcopy-bench-") as tmp:
        t0 = time.perf_counter()
        pki = signing.create_dev_pki(
            Path(tmp) / "pki", agencies=[AGENCY], signers=[("bench", NAME)], passphrase=PASSPHRASE
        )
        pki_time = time.perf_counter() - t0
        sig_png = signing.make_signature_image(NAME, TITLE)
        seal_png = signing.make_seal_image(AGENCY[1])

        docs = [
            ("1 page", one_page_pdf()),
            ("~5 MB scan", scan_pdf(5 * 1024 * 1024, 8)),
            (f"~{big} MB scan", scan_pdf(big * 1024 * 1024, 20)),
        ]
        # upload step: a Pillow PDF has a broken xref and is repaired once
        docs = [(label, signing.inspect_original(data).pdf) for label, data in docs]

        # cold run (first signature in this process: key parse + font subsetting)
        _, _, cold = ours(docs[0][1], pki, sig_png, seal_png)

        print(f"create_dev_pki: {pki_time * 1000:.0f} ms (1 agency, 1 signer, RSA TSA key)")
        print(f"ours, cold (first call in the process, 1 page): {cold * 1000:.0f} ms")
        print("timestamper: none on both sides (it would cost the same on both; B-T shown below)")
        print()
        header = (
            f"{'document':<13}{'size':>8}{'prepare':>9}{'ours':>9}{'naive':>9}"
            f"{'sha256':>9}{'naive/ours':>11}{'ours/sha256':>12}{'peak':>9}{'peak/size':>10}"
        )
        units = (
            f"{'':<13}{'MB':>8}{'ms':>9}{'ms':>9}{'ms':>9}{'ms':>9}{'>= 2':>11}"
            f"{'<= 10':>12}{'MB':>9}{'< 3x':>10}"
        )
        print(header)
        print(units)
        print("-" * len(header))
        for label, data in docs:
            size = len(data)
            ours(data, pki, sig_png, seal_png)  # warm-up
            naive(data, pki, sig_png, seal_png)
            o_times, p_times, n_times = [], [], []
            for _ in range(runs):
                sealed, p, o = ours(data, pki, sig_png, seal_png)
                o_times.append(o)
                p_times.append(p)
                _, n = naive(data, pki, sig_png, seal_png)
                n_times.append(n)
            report = signing.validate(sealed, pki.trust_roots())
            assert report.valid, report
            del sealed
            o, p, n = (statistics.median(x) for x in (o_times, p_times, n_times))
            h = sha256_time(data, runs)
            peak = peak_memory(lambda doc=data: ours(doc, pki, sig_png, seal_png))
            ratio = f"{peak / size:.2f}x" if size >= 1_000_000 else "n/a"
            print(
                f"{label:<13}{size / 1e6:>8.2f}{p * 1000:>9.1f}{o * 1000:>9.1f}{n * 1000:>9.1f}"
                f"{h * 1000:>9.2f}{n / o:>11.1f}{o / h:>12.1f}{peak / 1e6:>9.1f}{ratio:>10}"
            )

        ts = signing.local_timestamper(pki)
        label, data = docs[-1]
        ours(data, pki, sig_png, seal_png, timestamper=ts)
        t_times = [ours(data, pki, sig_png, seal_png, timestamper=ts)[2] for _ in range(runs)]
        print(f"\nB-T (in-process RSA TSA), {label}: ours {statistics.median(t_times) * 1000:.1f} ms")
        print(
            "ours = prepare + attest + seal (prepare included; also shown alone); naive = the same\n"
            "fields and visible signatures with pyHanko defaults. Medians of "
            f"{runs} runs after one warm-up.\n"
            "peak = largest traced allocation (tracemalloc) during ours, intermediate documents\n"
            "released between steps; the caller's input is not counted. ratio n/a below 1 MB."
        )
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
