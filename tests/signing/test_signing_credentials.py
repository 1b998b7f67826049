"""load_pkcs12(): errors, checks on the certificate, and the in-process key cache."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

import signing
import signing.credentials as credentials_module
from signing import CredentialError


def _p12(
    *,
    digital_signature: bool = True,
    non_repudiation: bool = True,
    key_usage: bool = True,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    with_key: bool = True,
    passphrase: bytes = b"pw",
) -> bytes:
    """A self-signed ECDSA certificate in a PKCS#12 file."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lê Thị Hồng Nhung")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=30))
    )
    if key_usage:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=digital_signature,
                content_commitment=non_repudiation,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    cert = builder.sign(key, hashes.SHA256())
    return pkcs12.serialize_key_and_certificates(
        b"test",
        key if with_key else None,
        cert,
        None,
        serialization.BestAvailableEncryption(passphrase),
    )


def test_load_dev_credential(pki, h):
    cred = signing.load_pkcs12(pki.signer_p12[h.OFFICER[0]].read_bytes(), h.PASSPHRASE)
    assert isinstance(cred, signing.Credential)
    assert cred.subject_name == h.OFFICER[1]
    assert cred.not_valid_after > datetime.now(timezone.utc)
    assert cred.certificate.subject.native["common_name"] == h.OFFICER[1]
    # ECDSA P-256 for speed
    assert cred.certificate.public_key.algorithm == "ec"


def test_wrong_passphrase(pki, h):
    data = pki.signer_p12[h.OFFICER[0]].read_bytes()
    with pytest.raises(CredentialError) as exc_info:
        signing.load_pkcs12(data, "not the pin")
    assert exc_info.value.code == "wrong_passphrase"
    assert "not the pin" not in str(exc_info.value)


def test_str_and_bytes_passphrases_are_equivalent(pki, h):
    data = pki.signer_p12[h.OFFICER[0]].read_bytes()
    a = signing.load_pkcs12(data, h.PASSPHRASE)
    b = signing.load_pkcs12(data, h.PASSPHRASE.encode("utf-8"))
    assert a is b


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "PKCS#12"),
        (b"definitely not a p12 file", "PKCS#12"),
        (b"%PDF-1.7\n", "PKCS#12"),
    ],
    ids=["empty", "text", "pdf"],
)
def test_not_a_pkcs12(data, fragment):
    with pytest.raises(CredentialError) as exc_info:
        signing.load_pkcs12(data, "pw")
    assert exc_info.value.code == "bad_credential"
    assert fragment in str(exc_info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"non_repudiation": False}, "nonRepudiation"),
        ({"digital_signature": False}, "digitalSignature"),
        ({"key_usage": False}, "key usage"),
        (
            {
                "not_before": datetime.now(timezone.utc) - timedelta(days=30),
                "not_after": datetime.now(timezone.utc) - timedelta(days=1),
            },
            "expired",
        ),
        (
            {
                "not_before": datetime.now(timezone.utc) + timedelta(days=1),
                "not_after": datetime.now(timezone.utc) + timedelta(days=30),
            },
            "not valid before",
        ),
        ({"with_key": False}, "no private key"),
    ],
    ids=["no-nonrepudiation", "no-digitalsignature", "no-keyusage", "expired", "not-yet-valid", "no-key"],
)
def test_bad_credentials(kwargs, fragment):
    with pytest.raises(CredentialError) as exc_info:
        signing.load_pkcs12(_p12(**kwargs), "pw")
    assert exc_info.value.code == "bad_credential"
    assert fragment in str(exc_info.value)


def test_good_self_made_credential_loads():
    cred = signing.load_pkcs12(_p12(), "pw")
    assert cred.subject_name == "Lê Thị Hồng Nhung"


def test_cache_parses_once_and_wrong_passphrase_still_fails(pki, h, monkeypatch):
    signing.clear_credential_cache()
    calls = []
    real = credentials_module._parse_pkcs12

    def counting(data, passphrase):
        calls.append(1)
        return real(data, passphrase)

    monkeypatch.setattr(credentials_module, "_parse_pkcs12", counting)
    data = pki.seal_p12[h.AGENCY[0]].read_bytes()
    first = signing.load_pkcs12(data, h.PASSPHRASE)
    second = signing.load_pkcs12(data, h.PASSPHRASE)
    assert second is first
    assert len(calls) == 1
    # a wrong passphrase after a good one is not served from the cache
    with pytest.raises(CredentialError) as exc_info:
        signing.load_pkcs12(data, h.PASSPHRASE + "x")
    assert exc_info.value.code == "wrong_passphrase"
    assert len(calls) == 2
    # the cache key holds no passphrase: only a digest of the file and an HMAC
    for file_digest, pass_mac in credentials_module._cache:
        assert h.PASSPHRASE.encode() not in file_digest + pass_mac
        assert len(file_digest) == len(pass_mac) == 32


def test_cached_key_signs_without_reparsing_the_key(officer, monkeypatch):
    """SimpleSigner re-parses its DER key for every signature; ours does not."""
    from cryptography.hazmat.primitives import serialization as ser

    def fail(*args, **kwargs):  # pragma: no cover - must not be called
        raise AssertionError("private key re-parsed")

    monkeypatch.setattr(ser, "load_der_private_key", fail)
    sig = officer.signer.sign_raw(b"data", "sha256")
    assert sig


def test_credential_is_an_extension_point(officer):
    """Another backend (PKCS#11, remote service) only provides a pyHanko signer."""

    class RemoteCredential(signing.Credential):
        def __init__(self, signer):
            self._signer = signer

        @property
        def signer(self):
            return self._signer

    remote = RemoteCredential(officer.signer)
    assert remote.subject_name == officer.subject_name
    assert remote.not_valid_after == officer.not_valid_after
    with pytest.raises(TypeError):
        signing.Credential()  # abstract
