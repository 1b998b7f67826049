"""Signing and validating work when the calling thread already runs an asyncio loop (async servers, browser
drivers): pyHanko's own asyncio.run() would fail there."""
from __future__ import annotations

import asyncio
from datetime import date

import signing


def test_sign_and_validate_inside_a_running_loop(h, officer, agency, signature_png, seal_png, pki):
    async def inside_loop():
        prepared = signing.prepare(h.text_pdf(2))
        attested = signing.attest(prepared, officer, full_name="Nguyễn Văn A", title="Công chứng viên",
                                  signature_image=signature_png)
        sealed = signing.seal(attested, agency, seal_image=seal_png, certification_number=7, register_name="01/2026",
                              certified_on=date(2026, 11, 25), verify_url="http://127.0.0.1/verify/7")
        return signing.validate(sealed, pki.trust_roots())

    report = asyncio.run(inside_loop())
    assert report.valid and [s.field for s in report.signatures] == ["attestation", "seal"]
