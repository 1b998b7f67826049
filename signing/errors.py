"""Exceptions raised by :mod:`signing`.

Every exception carries a machine-readable :attr:`SigningError.code` and a
human-readable English sentence as its ``str()``.  Callers map the code to
an HTTP status or a translated message; the sentence is safe to show to
users (it never contains passphrases or key material).
"""

from __future__ import annotations

__all__ = ["SigningError", "InvalidPdf", "CredentialError"]


class SigningError(Exception):
    """Base class of every error raised by this package.

    Codes used directly on this class (not on a subclass):

    ``field_missing``
        the expected signature field is not in the document
        (it was not made by :func:`signing.prepare`).
    ``field_exists``
        :func:`signing.prepare` found a field named ``attestation`` or
        ``seal`` already in the original.
    ``already_signed``
        the target signature field is already signed.
    ``not_attested``
        :func:`signing.seal` was called on a document without the officer's
        attestation signature.
    ``bad_image``
        a signature/seal image could not be decoded.
    ``timestamp_failed``
        the time-stamping authority could not be reached or refused.
    ``signing_failed``
        any other failure while producing the signature.
    """

    code: str = "signing_failed"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidPdf(SigningError):
    """The uploaded file is not a PDF this package can certify.

    Codes: ``not_pdf``, ``empty_pdf``, ``truncated_pdf``, ``encrypted_pdf``,
    ``pdf_too_large``, ``no_pages``, ``signed_pdf`` (already digitally signed).
    """


class CredentialError(SigningError):
    """The signing credential cannot be used.

    Codes: ``wrong_passphrase``, ``bad_credential``.
    """
