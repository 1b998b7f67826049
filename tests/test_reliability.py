"""A step that dies half-way leaves nothing behind: no state change, no event, no register number used."""
from __future__ import annotations

from sqlalchemy import select

from app.adapters.models import Agency, Register

from .test_api_dossiers import accept_and_route


def _register(system):
    with system.db.session() as session:
        return session.scalar(select(Register).join(Agency).where(Agency.slug == "pcc1"))


def test_crash_during_seal_changes_nothing_and_retry_gets_the_first_number(api, system, monkeypatch):
    code = api.file_dossier().get_json()["code"]
    accept_and_route(api, code)
    assert api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo").status_code == 200
    before = api.get(f"/dossiers/{code}", "auditor").get_json()
    book = _register(system)

    import signing

    real_seal = signing.seal

    def power_cut(*args, **kwargs):
        raise RuntimeError("power cut while sealing")

    monkeypatch.setattr(signing, "seal", power_cut)
    resp = api.complete("clerk.pcc1", code, "seal", {"register": book.id}, pin="demo")
    assert resp.status_code == 500 and resp.get_json()["error"]["code"] == "internal_error"
    assert api.get(f"/dossiers/{code}", "auditor").get_json() == before
    assert _register(system).next_number == book.next_number

    monkeypatch.setattr(signing, "seal", real_seal)
    resp = api.complete("clerk.pcc1", code, "seal", {"register": book.id}, pin="demo")
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "awaiting_return"
    assert api.get(f"/dossiers/{code}", "auditor").get_json()["result"]["certification_number"] == book.next_number


def test_wrong_seal_pin_uses_no_number(api, system):
    code = api.file_dossier().get_json()["code"]
    accept_and_route(api, code)
    api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo")
    book = _register(system)
    resp = api.complete("clerk.pcc1", code, "seal", {"register": book.id}, pin="wrong")
    assert resp.status_code == 422
    assert _register(system).next_number == book.next_number
