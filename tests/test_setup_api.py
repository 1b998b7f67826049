"""Set-up through the JSON API: signature and seal images (validated, size-limited, on every later stamp),
PKCS#12 credentials (checked with their passphrase, encrypted at rest, details shown, expiry warned), and the
message that says what to set up when something is missing."""
from __future__ import annotations

import io
import os
import stat
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image
from sqlalchemy import select

from app.errors import Unprocessable
from app.adapters.models import Dossier, SigningCredential, User
from app.adapters.keys import KEY_ENV, CredentialVault
from tests.test_api_dossiers import accept_and_route, error_code
from tests.test_registers_api import to_seal


def image_bytes(size=(600, 240), fmt="PNG", colour=(20, 40, 140), mode="RGB") -> bytes:
    image = Image.new(mode, size, colour if mode != "1" else 1)
    if mode == "RGB":
        for x in range(0, size[0], 7):  # some texture so JPEG output is not trivially tiny
            image.putpixel((x, size[1] // 2), (x % 255, 10, 200))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def make_p12(passphrase: str = "mat-khau-1", *, days: int = 365, starts_in_days: int = 0, signing: bool = True,
             cn: str = "Lý Thị Thu Trang") -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sở Tư pháp tỉnh Bắc Kạn"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    usage = x509.KeyUsage(digital_signature=True, content_commitment=signing, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + timedelta(days=starts_in_days) - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=starts_in_days + days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256()))
    return pkcs12.serialize_key_and_certificates(b"test", key, cert, None,
                                                 serialization.BestAvailableEncryption(passphrase.encode()))


def upload_p12(api, user, path, data, passphrase):
    return api.post(path, user, data={"pkcs12": (io.BytesIO(data), "chu-ky.p12"), "passphrase": passphrase})


def upload_image(api, user, path, data, name="anh.png"):
    return api.post(path, user, data={"image": (io.BytesIO(data), name)})


def stored(system, sha) -> bytes:
    return system.files.get(sha)


def test_signature_image_is_validated_and_size_limited(api, system):
    path = "/users/signer.pcc1/signature-image"
    ok = upload_image(api, "signer.pcc1", path, image_bytes())
    assert ok.status_code == 201 and ok.get_json() == {"format": "png", "width": 600, "height": 240,
                                                       "size": len(image_bytes())}
    assert upload_image(api, "signer.pcc1", path, image_bytes(fmt="JPEG"), "anh.jpg").status_code == 201
    cases = [
        (image_bytes(fmt="GIF"), 415, "unsupported_image"),
        (b"%PDF-1.7 not an image", 415, "unsupported_image"),
        (image_bytes()[:300], 415, "unsupported_image"),  # truncated PNG
        (image_bytes(size=(120, 40)), 422, "image_too_small"),
        (image_bytes(size=(300, 900)), 422, "image_shape"),
        (image_bytes(size=(5000, 4000), mode="1"), 422, "image_too_large"),
        (b"\x89PNG" + os.urandom(2 * 1024 * 1024), 413, "file_too_large"),
    ]
    for data, status, code in cases:
        resp = upload_image(api, "signer.pcc1", path, data)
        assert resp.status_code == status and error_code(resp) == code, (code, resp.get_json())
        assert "Ảnh chữ ký" in resp.get_json()["error"]["message"]
    assert error_code(api.post(path, "signer.pcc1", data={})) == "missing_file"
    with system.db.session() as session:
        sha = session.scalar(select(User.signature_image_sha256).where(User.username == "signer.pcc1"))
    assert stored(system, sha)[:2] == b"\xff\xd8"  # the last good upload (JPEG) stays
    got = api.get(path, "signer.pcc1")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"


def test_who_may_set_up_signatures_and_seals(api):
    png, seal = image_bytes(), image_bytes(size=(400, 400), colour=(200, 16, 30))
    assert upload_image(api, "admin", "/users/signer.pcc1/signature-image", png).status_code == 201
    assert upload_image(api, "leader.pcc1", "/users/signer.pcc1/signature-image", png).status_code == 403
    assert upload_image(api, "signer.pacnam", "/users/signer.pcc1/signature-image", png).status_code == 404
    refused = upload_image(api, "admin", "/users/clerk.pcc1/signature-image", png)
    assert refused.status_code == 422 and error_code(refused) == "not_a_signer"
    assert upload_image(api, "clerk.pcc1", "/agencies/pcc1/seal-image", seal).status_code == 201
    assert upload_image(api, "admin", "/agencies/000.00.38.H03/seal-image", seal).status_code == 201
    assert upload_image(api, "clerk.pcc1", "/agencies/pacnam/seal-image", seal).status_code == 403
    assert upload_image(api, "one_stop.pcc1", "/agencies/pcc1/seal-image", seal).status_code == 403
    assert upload_image(api, "clerk.pcc1", "/agencies/pcc1/seal-image", png).status_code == 422  # not round-ish
    assert upload_image(api, "admin", "/agencies/nowhere/seal-image", seal).status_code == 404
    assert upload_image(api, None, "/agencies/pcc1/seal-image", seal).status_code == 401
    assert api.get("/agencies/pcc1/seal-image", "signer.pcc1").status_code == 200
    assert api.get("/agencies/pcc1/seal-image", "clerk.pacnam").status_code == 404


def test_new_images_appear_on_the_stamps_of_later_copies(api, system):
    signature_jpeg = image_bytes(size=(640, 220), fmt="JPEG")
    seal_jpeg = image_bytes(size=(420, 420), fmt="JPEG", colour=(210, 20, 30))
    assert upload_image(api, "signer.pcc1", "/users/signer.pcc1/signature-image", signature_jpeg).status_code == 201
    assert upload_image(api, "clerk.pcc1", "/agencies/pcc1/seal-image", seal_jpeg).status_code == 201
    code = to_seal(api)
    with system.db.session() as session:
        attested = stored(system, session.scalar(select(Dossier.attested_sha256).where(Dossier.code == code)))
    assert signature_jpeg in attested  # a baseline JPEG is embedded as is (DCTDecode)
    register = api.get("/registers?usable=true", "clerk.pcc1").get_json()[0]["id"]
    assert api.complete("clerk.pcc1", code, "seal", {"register": register}, pin="demo").status_code == 200
    result = api.get(f"/dossiers/{code}/result.pdf", "clerk.pcc1").get_data()
    assert seal_jpeg in result and signature_jpeg in result


def test_missing_set_up_blocks_signing_with_a_message_saying_what(api, system):
    code = api.file_dossier().get_json()["code"]
    accept_and_route(api, code)
    with system.db.session() as session, session.begin():
        session.scalar(select(User).where(User.username == "signer.pcc1")).signature_image_sha256 = None
    status = api.get("/setup/status", "signer.pcc1").get_json()
    assert status["ready"] is False
    assert [g["code"] for g in status["signer"]] == ["missing_signature_image"]
    resp = api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo")
    assert resp.status_code == 422 and error_code(resp) == "missing_signature_image"
    assert "tải ảnh chữ ký" in resp.get_json()["error"]["message"]
    with system.db.session() as session, session.begin():
        for row in session.scalars(select(SigningCredential).where(SigningCredential.kind == "signer")):
            row.active = False
    assert upload_image(api, "signer.pcc1", "/users/signer.pcc1/signature-image", image_bytes()).status_code == 201
    resp = api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo")
    assert error_code(resp) == "missing_credential" and "chứng thư số" in resp.get_json()["error"]["message"]
    assert "missing_credential" in [g["code"] for g in api.get("/setup/status", "signer.pcc1").get_json()["signer"]]
    assert api.get(f"/dossiers/{code}", "auditor").get_json()["status"] == "awaiting_signature"
    clerk = api.get("/setup/status", "clerk.pcc1").get_json()
    assert clerk["signer"] is None and clerk["agency"] == [] and clerk["ready"] is True


def test_pkcs12_is_checked_with_its_passphrase_at_upload(api, system):
    path = "/users/signer.pcc1/credentials"
    good = make_p12("mat-khau-1")
    cases = [
        (good, "sai-mat-khau", 422, "wrong_passphrase", "Mật khẩu"),
        (good, "", 422, "passphrase_required", "mật khẩu"),
        (b"not a pkcs12 file", "x", 415, "not_pkcs12", "PKCS#12"),
        (make_p12("pw-123456", signing=False), "pw-123456", 422, "key_usage", "nonRepudiation"),
        (make_p12("pw-123456", days=29, starts_in_days=-30), "pw-123456", 422, "expired", "hết hạn"),
        (make_p12("pw-123456", starts_in_days=10), "pw-123456", 422, "not_yet_valid", "chưa có hiệu lực"),
        (b"\x30" * (300 * 1024), "x", 413, "file_too_large", "quá lớn"),
    ]
    for data, passphrase, status, code, words in cases:
        resp = upload_p12(api, "admin", path, data, passphrase)
        assert resp.status_code == status and error_code(resp) == code, (code, resp.get_json())
        assert words in resp.get_json()["error"]["message"]
    assert upload_p12(api, "leader.pcc1", path, good, "mat-khau-1").status_code == 403
    assert upload_p12(api, "signer.pacnam", path, good, "mat-khau-1").status_code == 404
    listed = api.get(path, "signer.pcc1").get_json()
    assert len(listed) == 1 and listed[0]["active"] and listed[0]["uploaded_by"] is None  # the demo's own


def test_uploaded_pkcs12_is_encrypted_at_rest_shown_and_used_with_its_own_pin(api, system):
    data = make_p12("mat-khau-moi", days=400)
    resp = upload_p12(api, "signer.pcc1", "/users/signer.pcc1/credentials", data, "mat-khau-moi")
    assert resp.status_code == 201, resp.get_json()
    view = resp.get_json()
    assert view["subject"] == "Lý Thị Thu Trang" and "Sở Tư pháp tỉnh Bắc Kạn" in view["issuer"]
    assert view["key_usage"] == ["digitalSignature", "nonRepudiation"] and len(view["fingerprint_sha256"]) == 64
    assert view["expiry"] == "valid" and 398 <= view["days_left"] <= 400 and view["uploaded_by"] == "signer.pcc1"
    with system.db.session() as session:
        rows = session.scalars(select(SigningCredential).join(User, SigningCredential.user_id == User.id)
                               .where(User.username == "signer.pcc1").order_by(SigningCredential.id)).all()
        assert [r.active for r in rows] == [False, True]
        blob = stored(system, rows[-1].pkcs12_sha256)
    assert blob.startswith(CredentialVault.MAGIC) and data not in blob and data[:64] not in blob
    assert system.keys.vault.decrypt(blob) == data
    key_file = system.settings.instance_path / "credential.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_bytes()) == 32
    if system.db.is_sqlite:
        database = (system.settings.instance_path / "certcopy.db").read_bytes()
        wal = system.settings.instance_path / "certcopy.db-wal"
        database += wal.read_bytes() if wal.exists() else b""
        assert b"mat-khau-moi" not in database  # the passphrase is never stored

    code = api.file_dossier().get_json()["code"]
    accept_and_route(api, code)
    old_pin = api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo")
    assert error_code(old_pin) == "wrong_pin"
    signed = api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="mat-khau-moi")
    assert signed.status_code == 200 and signed.get_json()["dossier"]["status"] == "awaiting_seal"


def test_agency_seal_credential_by_admin_or_clerk(api):
    data = make_p12("dau-co-quan", cn="Phòng Công chứng số 1")
    assert upload_p12(api, "clerk.pacnam", "/agencies/pcc1/credentials", data, "dau-co-quan").status_code == 403
    resp = upload_p12(api, "clerk.pcc1", "/agencies/pcc1/credentials", data, "dau-co-quan")
    assert resp.status_code == 201 and resp.get_json()["kind"] == "seal"
    assert upload_p12(api, "admin", "/agencies/pcc1/credentials", data, "dau-co-quan").status_code == 201
    listed = api.get("/agencies/pcc1/credentials", "clerk.pcc1").get_json()
    assert [c["active"] for c in listed] == [True, False, False]
    code = to_seal(api)
    register = api.get("/registers?usable=true", "clerk.pcc1").get_json()[0]["id"]
    assert error_code(api.complete("clerk.pcc1", code, "seal", {"register": register}, pin="demo")) == "wrong_pin"
    assert api.complete("clerk.pcc1", code, "seal", {"register": register}, pin="dau-co-quan").status_code == 200


def test_expiry_within_thirty_days_is_warned(api):
    data = make_p12("sap-het-han", days=12)
    assert upload_p12(api, "admin", "/users/signer.pcc1/credentials", data, "sap-het-han").status_code == 201
    status = api.get("/setup/status", "signer.pcc1").get_json()
    warning = [g for g in status["signer"] if g["code"] == "credential_expiring"]
    assert warning and warning[0]["severity"] == "warn" and "còn 11 ngày" in warning[0]["message"]
    assert status["ready"] is True  # a warning, not a block
    assert api.get("/users/signer.pcc1/credentials", "signer.pcc1").get_json()[0]["expiry"] == "expiring"


def test_the_instance_key_comes_from_the_environment_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "11" * 32)
    vault = CredentialVault.for_instance(tmp_path)
    assert not (tmp_path / "credential.key").exists()
    blob = vault.encrypt(b"\x30 pkcs12")
    monkeypatch.setenv(KEY_ENV, "22" * 32)
    with pytest.raises(Unprocessable) as wrong_key:
        CredentialVault.for_instance(tmp_path).decrypt(blob)
    assert wrong_key.value.code == "credential_unreadable"
    monkeypatch.setenv(KEY_ENV, "too-short")
    with pytest.raises(RuntimeError):
        CredentialVault.for_instance(tmp_path)
    monkeypatch.delenv(KEY_ENV)
    tampered = bytearray(CredentialVault.for_instance(tmp_path).encrypt(b"secret"))
    tampered[-1] ^= 1
    with pytest.raises(Unprocessable):
        CredentialVault.for_instance(tmp_path).decrypt(bytes(tampered))
