"""One way to file a dossier: the API, the portal's wizard, the staff walk-in and an appointment turned into a
dossier all go through services/dossiers/filing.py. The wizard checks the scan and writes it to the file store
once (at its details step), never again at the confirmation; every way gives the same dossier."""
from __future__ import annotations

import io

import pytest
import signing
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import select

from app.adapters.models import Document, Dossier, Event
from app.replay import make_pdf
from tests.test_citizen_pages import Browser, _details, hidden, text
from tests.test_staff_pages import Staff

ADDRESS = "Số 12 đường Trường Chinh, phường Đức Xuân, thành phố Bắc Kạn"
FIELDS = {"procedure": "2.000815", "document_type": "Bằng tốt nghiệp", "copies": "2", "delivery": "post",
          "payment": "counter", "declaration": "true", "postal_address": ADDRESS, "postal_phone": "0912 345 678"}


def armed_pdf(pages: int = 2) -> bytes:
    """A scan carrying a script that runs when the file opens: the filing keeps it and certifies a cleaned copy."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(pages))))
    writer.root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x')")})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def counted(system, monkeypatch):
    """How often a scan is checked and how often a file is written to the store, while the test runs."""
    calls = {"inspect": 0, "put": 0}
    inspect, put = signing.inspect_original, system.files.put

    def counting_inspect(*args, **kwargs):
        calls["inspect"] += 1
        return inspect(*args, **kwargs)

    def counting_put(data):
        calls["put"] += 1
        return put(data)

    monkeypatch.setattr(signing, "inspect_original", counting_inspect)
    monkeypatch.setattr(system.files, "put", counting_put)
    return calls


def _wizard(client, pdf: bytes, **fields) -> str:
    browser = Browser(client).login("citizen")
    key, _ = _details(browser)
    checked = browser.post("/cong-dan/nop-ho-so/thong-tin", {
        "idempotency_key": key, "agency": "pcc1", **FIELDS, **fields, "original": (io.BytesIO(pdf), "bang.pdf")})
    assert checked.status_code == 200, text(checked)[:2000]
    filed = browser.post("/cong-dan/nop-ho-so/xac-nhan", {"draft": hidden(text(checked), "draft")})
    assert filed.status_code == 302, text(filed)[:2000]
    return filed.headers["Location"].split("/ho-so/")[1].split("?")[0]


def _documents(system, code: str) -> list[tuple[str, str]]:
    with system.db.session() as session:
        return list(session.execute(select(Document.kind, Document.sha256).join(Dossier)
                                    .where(Dossier.code == code).order_by(Document.id)).all())


@pytest.mark.parametrize("make, kind", [(make_pdf, None), (armed_pdf, "original_cleaned")], ids=["plain", "armed"])
def test_the_wizard_checks_and_stores_the_scan_once(client, system, counted, make, kind):
    code = _wizard(client, make(3))
    documents = _documents(system, code)
    assert documents[0][0] == "original" and (kind is None or documents[-1][0] == kind)
    # one check, and one write per file: the upload as received and, when it was rewritten, the copy to certify
    assert counted == {"inspect": 1, "put": len({sha for _, sha in documents})}
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier.pages == 3 and dossier.original_sha256 == documents[-1][1]


def test_the_confirmation_files_once_and_refuses_a_draft_whose_file_is_gone(client, system):
    browser = Browser(client).login("citizen")
    key, _ = _details(browser)
    checked = browser.post("/cong-dan/nop-ho-so/thong-tin", {
        "idempotency_key": key, "agency": "pcc1", **FIELDS, "original": (io.BytesIO(make_pdf(1)), "a.pdf")})
    draft = hidden(text(checked), "draft")
    for path in system.files.root.rglob("*"):
        if path.is_file():
            path.unlink()
    gone = browser.post("/cong-dan/nop-ho-so/xac-nhan", {"draft": draft})
    assert gone.status_code == 400 and "Phiên nộp hồ sơ không hợp lệ" in text(gone)
    with system.db.session() as session:
        assert session.scalar(select(Dossier.id)) is None


def _same_fields(system, code: str) -> dict:
    with system.db.session() as session:
        d = session.scalar(select(Dossier).where(Dossier.code == code))
        submitted = session.scalar(select(Event).where(Event.dossier_id == d.id, Event.kind == "submitted"))
        data = dict(submitted.data)
        data.pop("walk_in")
        return {"agency": d.agency_id, "procedure": d.procedure, "document_type": d.document_type,
                "copies": d.copies, "delivery": d.delivery, "payment": d.payment, "applicant": d.applicant_id,
                "applicant_name": d.applicant_name, "applicant_email": d.applicant_email,
                "postal_address": d.postal_address, "postal_phone": d.postal_phone, "pages": d.pages,
                "fee": d.fee_amount, "fee_paid": d.fee_paid, "original": d.original_sha256, "status": d.status,
                "variant": d.variant, "process_version": d.process_version_id, "due_at": d.due_at is not None,
                "documents": [(kind, sha) for kind, sha in _documents(system, code)], "submitted": data}


def test_api_wizard_and_walk_in_give_the_same_dossier(client, api, app, system):
    pdf = make_pdf(4)
    by_api = api.post("/dossiers", "citizen", data={
        "agency": "pcc1", **FIELDS, "original": (io.BytesIO(pdf), "bang.pdf")})
    assert by_api.status_code == 201, by_api.get_json()
    by_wizard = _wizard(client, pdf)
    one_stop = Staff(app, "one_stop.pcc1")
    walked = one_stop.post("/staff/walk-in", {**FIELDS, "citizen": "001090012345",
                                              "original": (io.BytesIO(pdf), "bang.pdf")},
                           content_type="multipart/form-data")
    assert walked.status_code == 302, walked.get_data(as_text=True)[:2000]
    with system.db.session() as session:
        by_walk_in = session.scalar(select(Dossier.code).where(Dossier.created_by_id != Dossier.applicant_id))
    expected = _same_fields(system, by_api.get_json()["code"])
    assert expected["fee"] == 2 * (2 * 2000 + 2 * 1000) and expected["postal_phone"] == "0912345678"
    assert _same_fields(system, by_wizard) == expected
    assert _same_fields(system, by_walk_in) == expected


def test_a_converted_appointment_is_filed_the_same_way(api, system):
    from datetime import datetime, timedelta

    from app import clock
    from app.domain.calendar import VN_TZ

    clock.set_global(datetime(2026, 3, 9, 8, 0, tzinfo=VN_TZ))  # a Monday
    booked = api.post("/appointments", "citizen", json={"agency": "pcc1", "procedure": "2.000815",
                                                       "document_type": FIELDS["document_type"],
                                                       "date": (clock.now() + timedelta(days=1)).date().isoformat(),
                                                       "slot": "09:00"})
    assert booked.status_code == 201, booked.get_json()
    appointment = booked.get_json()["code"]
    pdf = make_pdf(4)
    by_api = api.post("/dossiers", "citizen", data={"agency": "pcc1", **FIELDS, "original": (io.BytesIO(pdf), "b.pdf")})
    converted = api.post(f"/appointments/{appointment}/dossier", "one_stop.pcc1",
                         data={**{k: v for k, v in FIELDS.items() if k not in ("procedure", "document_type")},
                               "original": (io.BytesIO(pdf), "b.pdf")})
    assert converted.status_code == 201, converted.get_json()
    assert _same_fields(system, converted.get_json()["code"]) == _same_fields(system, by_api.get_json()["code"])
    assert api.get(f"/appointments/{appointment}", "citizen").get_json()["status"] == "converted"
    again = api.post(f"/appointments/{appointment}/dossier", "one_stop.pcc1",
                     data={**FIELDS, "original": (io.BytesIO(pdf), "b.pdf")})
    assert again.status_code == 200 and again.get_json()["code"] == converted.get_json()["code"]
