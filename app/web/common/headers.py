"""Security headers on every response, and the session cookie's flags.

The pages load scripts and styles only from this site (no inline script: confirmations use `data-confirm`,
page data travels in `<script type="application/json">` blocks that are never executed), may not be framed,
and tell browsers not to sniff types or leak full addresses. Behind https (CERTCOPY_PUBLIC_URL) the cookie is
`Secure` and browsers are told to keep to https.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SESSION_LIFETIME = timedelta(hours=8)  # a working day at the desk


def install(app: Flask, public_base_url: str) -> None:
    https = public_base_url.lower().startswith("https://")
    app.config.update(SESSION_COOKIE_SECURE=https, PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME)

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
