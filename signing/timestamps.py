"""RFC 3161 time-stamping (PAdES B-T)."""

from __future__ import annotations

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .devpki import DevPki

__all__ = ["Timestamper", "http_timestamper", "local_timestamper"]

Timestamper = TimeStamper
"""Alias of :class:`pyhanko.sign.timestamps.TimeStamper`."""


def http_timestamper(url: str, *, timeout: float = 10) -> Timestamper:
    """A client for a production RFC 3161 time-stamping authority at ``url``."""
    return HTTPTimeStamper(url, timeout=timeout)


class _LocalTimeStamper(DummyTimeStamper):
    """In-process TSA that keeps its parsed RSA key (DummyTimeStamper
    re-parses it for every token)."""

    def __init__(self, *, private_key: RSAPrivateKey, **kwargs) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt):
        from asn1crypto import cms, core
        from cryptography.hazmat.primitives import hashes

        md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        md.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute(
                    "signing_certificate", general.as_signing_certificate(self.tsa_cert)
                ),
                simple_cms_attribute("message_digest", md.finalize()),
            ]
        )
        signature = self._private_key.sign(
            signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, signed_attrs


def local_timestamper(pki: DevPki) -> Timestamper:
    """An in-process RFC 3161 TSA using the development PKI's TSA certificate.

    For development and tests only.  Uses the PKI's unencrypted TSA key file
    (mode 0600), so no passphrase is needed.
    """
    key = serialization.load_pem_private_key(pki.tsa_key_pem.read_bytes(), password=None)
    if not isinstance(key, RSAPrivateKey):  # pragma: no cover - create_dev_pki makes RSA
        raise ValueError("the local TSA needs an RSA key")
    tsa_cert = asn1_x509.Certificate.load(
        _pem_to_der(pki.tsa_p12.with_suffix(".pem").read_bytes())
    )
    root = asn1_x509.Certificate.load(_pem_to_der(pki.root_cert_pem.read_bytes()))
    key_info = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return _LocalTimeStamper(
        private_key=key, tsa_cert=tsa_cert, tsa_key=key_info, certs_to_embed=[root]
    )


def _pem_to_der(data: bytes) -> bytes:
    from cryptography import x509

    return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
