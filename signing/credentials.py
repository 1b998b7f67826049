"""Signing credentials.

A :class:`Credential` wraps a pyHanko :class:`~pyhanko.sign.signers.Signer`.
The only implementation today is a PKCS#12 file (:func:`load_pkcs12`); a
PKCS#11 token or a remote signing service can be added later as another
subclass that returns its own pyHanko signer (e.g.
``pyhanko.sign.pkcs11.PKCS11Signer``) without touching the callers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from datetime import datetime, timezone

from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from .errors import CredentialError

__all__ = ["Credential", "Pkcs12Credential", "load_pkcs12", "clear_credential_cache"]

logger = logging.getLogger(__name__)

_CACHE_SIZE = 64


class Credential(ABC):
    """A certificate plus the means to sign with its private key.

    Subclasses provide :attr:`signer`; everything else is derived from it.
    """

    @property
    @abstractmethod
    def signer(self) -> Signer:
        """The pyHanko signer used to produce CMS signatures."""

    @property
    def certificate(self) -> asn1_x509.Certificate:
        cert = self.signer.signing_cert
        assert cert is not None
        return cert

    @property
    def subject_name(self) -> str:
        """Human-readable subject: the common name, else the full DN."""
        subject = self.certificate.subject
        cn = subject.native.get("common_name")
        if isinstance(cn, list):
            cn = cn[-1]
        return str(cn) if cn else subject.human_friendly

    @property
    def not_valid_after(self) -> datetime:
        return self.certificate.not_valid_after

    @property
    def not_valid_before(self) -> datetime:
        return self.certificate.not_valid_before

    def certificates(self) -> list[asn1_x509.Certificate]:
        """The signing certificate followed by the other certificates we know."""
        certs = [self.certificate]
        certs.extend(c for c in self.signer.cert_registry if c != self.certificate)
        return certs

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.subject_name!r}>"


class _InMemoryKeySigner(SimpleSigner):
    """SimpleSigner that keeps the parsed private key.

    pyHanko's ``SimpleSigner.sign_raw`` re-parses the DER private key on every
    signature; for RSA keys this costs tens of milliseconds.
    """

    def __init__(self, *, private_key, **kwargs) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algo = mechanism.signature_algo
        except ValueError:
            algo = mechanism["algorithm"].native
        key = self._private_key
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algo == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            pss, hash_algo = process_pss_params(mechanism["parameters"])
            return key.sign(data, pss, hash_algo)
        if algo in ("ed25519", "ed448") and isinstance(
            key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)
        ):
            return key.sign(data)
        return super().sign_raw(data, digest_algorithm)


class Pkcs12Credential(Credential):
    """A credential loaded from a PKCS#12 (``.p12`` / ``.pfx``) file."""

    def __init__(self, signer: _InMemoryKeySigner) -> None:
        self._signer = signer

    @property
    def signer(self) -> Signer:
        return self._signer


# --------------------------------------------------------------------------
# loading and caching

_cache_lock = threading.Lock()
_cache: OrderedDict[tuple[bytes, bytes], Pkcs12Credential] = OrderedDict()
# Random per-process key: the cache never holds anything derived from a
# passphrase that could be checked offline outside this process.
_hmac_key = secrets.token_bytes(32)


def clear_credential_cache() -> None:
    """Forget every cached credential (e.g. after revoking a key)."""
    with _cache_lock:
        _cache.clear()


def load_pkcs12(data: bytes, passphrase: str | bytes) -> Credential:
    """Load a signing credential from PKCS#12 bytes.

    Raises :class:`~signing.CredentialError` with code ``wrong_passphrase``
    when the passphrase does not open the file, and ``bad_credential`` when the
    file is not PKCS#12, holds no private key or certificate, the key does not
    belong to the certificate, the certificate lacks the ``digitalSignature``
    or ``nonRepudiation`` key usage, or it is expired or not yet valid.

    Parsed credentials are cached in-process, keyed by the SHA-256 of the file
    and an HMAC (random per-process key) of the passphrase, so that signing
    twice with the same file and passphrase parses the file once.  A wrong
    passphrase never hits the cache.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("load_pkcs12() expects the PKCS#12 file content as bytes")
    if isinstance(passphrase, str):
        pw = passphrase.encode("utf-8")
    elif isinstance(passphrase, (bytes, bytearray)):
        pw = bytes(passphrase)
    else:
        raise TypeError("passphrase must be str or bytes")

    key = (
        hashlib.sha256(data).digest(),
        hmac.new(_hmac_key, pw, hashlib.sha256).digest(),
    )
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is not None:
        _check_validity_period(cached.certificate)
        return cached

    credential = _parse_pkcs12(data, pw)
    with _cache_lock:
        _cache[key] = credential
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return credential


def _parse_pkcs12(data: bytes, passphrase: bytes) -> Pkcs12Credential:
    """Parse and check a PKCS#12 file (the expensive part: key derivation)."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        pfx["auth_safe"]["content_type"].native  # noqa: B018 - forces parsing
    except Exception:
        raise CredentialError(
            "bad_credential", "The credential file is not a PKCS#12 (.p12/.pfx) file."
        ) from None

    loaded = None
    for candidate in (passphrase, None) if passphrase == b"" else (passphrase,):
        try:
            loaded = pkcs12.load_key_and_certificates(data, candidate)
            break
        except ValueError:
            continue
        except Exception:
            raise CredentialError(
                "bad_credential", "The credential file could not be read."
            ) from None
    if loaded is None:
        raise CredentialError(
            "wrong_passphrase", "The PIN or passphrase does not open this credential."
        )
    private_key, cert, others = loaded
    if private_key is None:
        raise CredentialError("bad_credential", "The credential file holds no private key.")
    if cert is None:
        raise CredentialError("bad_credential", "The credential file holds no certificate.")
    if not isinstance(
        private_key,
        (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey),
    ):
        raise CredentialError("bad_credential", "The credential's key type is not supported.")
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if private_key.public_key().public_bytes(
        serialization.Encoding.DER, pub
    ) != cert.public_key().public_bytes(serialization.Encoding.DER, pub):
        raise CredentialError(
            "bad_credential", "The private key does not belong to the certificate."
        )
    _check_key_usage(cert)

    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    _check_validity_period(asn1_cert)
    key_info = asn1_keys.PrivateKeyInfo.load(
        private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    registry = SimpleCertificateStore()
    registry.register_multiple(
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in others
    )
    signer = _InMemoryKeySigner(
        private_key=private_key,
        signing_cert=asn1_cert,
        signing_key=key_info,
        cert_registry=registry,
    )
    return Pkcs12Credential(signer)


def _check_key_usage(cert: pyca_x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(pyca_x509.KeyUsage).value
    except pyca_x509.ExtensionNotFound:
        raise CredentialError(
            "bad_credential",
            "The certificate has no key usage extension; a signing certificate needs "
            "digitalSignature and nonRepudiation.",
        ) from None
    missing = [
        name
        for name, present in (
            ("digitalSignature", usage.digital_signature),
            ("nonRepudiation", usage.content_commitment),
        )
        if not present
    ]
    if missing:
        raise CredentialError(
            "bad_credential",
            f"The certificate is not allowed to sign documents (missing key usage: {', '.join(missing)}).",
        )


def _check_validity_period(cert: asn1_x509.Certificate) -> None:
    now = datetime.now(timezone.utc)
    if now < cert.not_valid_before:
        raise CredentialError(
            "bad_credential",
            f"The certificate is not valid before {cert.not_valid_before:%Y-%m-%d %H:%M} UTC.",
        )
    if now > cert.not_valid_after:
        raise CredentialError(
            "bad_credential",
            f"The certificate expired on {cert.not_valid_after:%Y-%m-%d %H:%M} UTC.",
        )
