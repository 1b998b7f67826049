"""create_dev_pki / load_dev_pki, fonts and dev images."""

from __future__ import annotations

import io
import stat

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fontTools.ttLib import TTFont
from PIL import Image

import signing
from importlib.resources import files

from signing import font_bytes


def _cert(path, passphrase):
    _, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase.encode())
    return cert


def test_create_is_idempotent_and_adds_missing(tmp_path):
    directory = tmp_path / "pki"
    first = signing.create_dev_pki(
        directory, agencies=[("A1", "UBND xã Đồng Tâm")], signers=[("u1", "Phạm Văn Đức")],
        passphrase="pw",
    )
    root = first.root_cert_pem.read_bytes()
    seal_bytes = first.seal_p12["A1"].read_bytes()
    second = signing.create_dev_pki(
        directory,
        agencies=[("A1", "UBND xã Đồng Tâm"), ("A2", "Phòng Công chứng số 1")],
        signers=[("u1", "Phạm Văn Đức"), ("u2", "Trần Thị Ánh")],
        passphrase="pw",
    )
    assert second.root_cert_pem.read_bytes() == root
    assert second.seal_p12["A1"].read_bytes() == seal_bytes  # untouched
    assert set(second.seal_p12) == {"A1", "A2"}
    assert set(second.signer_p12) == {"u1", "u2"}
    assert signing.load_dev_pki(directory) == second
    # everything chains to the same root
    root_cert = x509.load_pem_x509_certificate(root)
    for path in [*second.seal_p12.values(), *second.signer_p12.values(), second.tsa_p12]:
        assert _cert(path, "pw").issuer == root_cert.subject


def test_wrong_passphrase_on_existing_pki(tmp_path):
    signing.create_dev_pki(tmp_path, agencies=[], signers=[], passphrase="pw")
    with pytest.raises(signing.CredentialError) as exc_info:
        signing.create_dev_pki(tmp_path, agencies=[("A", "B")], signers=[], passphrase="other")
    assert exc_info.value.code == "wrong_passphrase"


def test_load_without_pki(tmp_path):
    with pytest.raises(FileNotFoundError):
        signing.load_dev_pki(tmp_path)


def test_files_are_private(pki):
    files = [p for p in pki.directory.iterdir() if p.is_file()]
    assert pki.tsa_key_pem in files and pki.directory / "root-ca.key" in files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_new_pki_directory_is_private(tmp_path):
    pki = signing.create_dev_pki(tmp_path / "new" / "pki", agencies=[], signers=[], passphrase="p")
    assert stat.S_IMODE(pki.directory.stat().st_mode) & 0o077 == 0


def test_certificate_profiles(pki, h):
    signer = _cert(pki.signer_p12[h.OFFICER[0]], h.PASSPHRASE)
    seal = _cert(pki.seal_p12[h.AGENCY[0]], h.PASSPHRASE)
    tsa = _cert(pki.tsa_p12, h.PASSPHRASE)
    for cert in (signer, seal):
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment
    assert signer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == h.OFFICER[1]
    assert seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == h.AGENCY[1]
    # Vietnamese names are UTF8String
    cn = asn1_x509.Certificate.load(signer.public_bytes(encoding=_der()))
    rdn = [a for rdn in cn.subject.chosen for a in rdn if a["type"].native == "common_name"][0]
    assert rdn["value"].name == "utf8_string"
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert tsa.public_key().key_size == 2048  # RSA: DummyTimeStamper is RSA-only


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def test_trust_roots_are_pem(pki):
    (root,) = pki.trust_roots()
    assert root.startswith(b"-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("name", ["NotoSans-Regular.ttf", "NotoSans-Bold.ttf"])
def test_shipped_fonts_have_1000_units_per_em(name):
    font = TTFont(io.BytesIO(font_bytes("bold" if "Bold" in name else "regular")))
    assert font["head"].unitsPerEm == 1000
    cmap = font.getBestCmap()
    for ch in "ĐđưƯơƠăĂỹỸệỆẫẪ":
        assert ord(ch) in cmap, ch


def test_font_licence_is_shipped():
    text = (files("signing") / "fonts" / "OFL.txt").read_text("utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in text


def test_dev_images(h):
    sig = signing.make_signature_image(h.OFFICER[1], h.OFFICER_TITLE)
    seal = signing.make_seal_image(h.AGENCY[1])
    assert sig == signing.make_signature_image(h.OFFICER[1], h.OFFICER_TITLE)  # deterministic
    for data in (sig, seal):
        with Image.open(io.BytesIO(data)) as img:
            assert img.format == "PNG" and img.mode == "RGBA"
            alpha = img.getchannel("A")
            assert alpha.getextrema() == (0, 255)  # transparent background, opaque ink
    with Image.open(io.BytesIO(seal)) as img:
        r, g, b, a = img.convert("RGBA").getpixel((img.width // 2, img.height // 2))
        assert a == 255 and r > 150 and g < 80 and b < 80  # red star in the middle
