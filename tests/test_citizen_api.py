"""The citizen's rules through the JSON API: registration and filing refusals (a clear 4xx in the API's error
shape that stores nothing), online and counter payment, the satisfaction rating, the filing receipt and the in-app
notifications."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader, PdfWriter
from sqlalchemy import func, select

from app.adapters.models import (
    Agency,
    Document,
    Dossier,
    Event,
    Notification,
    OutboxMessage,
    Payment,
    Rating,
    Register,
    User,
)
from app.replay import make_pdf
from app.services.dossiers.payments import DevPaymentProvider


def error_code(resp) -> str:
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    assert body["error"]["message"], body
    return body["error"]["code"]


def counts(system) -> tuple:
    with system.db.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(m))
                     for m in (User, Dossier, Document, Event, OutboxMessage, Notification, Payment))


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(1))))
    writer.encrypt("mat-khau")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


REGISTRATION = {"username": "001199001122", "password": "mat-khau-123", "full_name": "Lê Thị Cúc",
                "id_number": "001199001122", "date_of_birth": "1999-04-02", "phone": "0987654321",
                "email": "cuc@example.vn"}


@pytest.mark.parametrize("change, field", [
    ({"id_number": "12345"}, "id_number"),
    ({"id_number": "1234567890"}, "id_number"),
    ({"id_number": "00119900112A"}, "id_number"),
    ({"date_of_birth": (date.today() + timedelta(days=2)).isoformat()}, "date_of_birth"),
    ({"date_of_birth": "02/04/1999"}, "date_of_birth"),
    ({"phone": "12345"}, "phone"),
    ({"email": "khong-phai-email"}, "email"),
    ({"password": "ngan"}, "password"),
])
def test_registration_refusals(api, system, change, field):
    before = counts(system)
    resp = api.post("/auth/register", json={**REGISTRATION, **change})
    assert resp.status_code == 422 and error_code(resp) == "invalid_field"
    assert field in resp.get_json()["error"]["details"]["fields"]
    assert counts(system) == before


def test_registration_accepts_9_and_12_digit_ids_once(api, system):
    assert api.post("/auth/register", json=REGISTRATION).status_code == 201
    old_id = {**REGISTRATION, "username": "151804051", "id_number": "151804051"}
    assert api.post("/auth/register", json=old_id).status_code == 201
    again = api.post("/auth/register", json=REGISTRATION)
    assert again.status_code == 409 and error_code(again) == "duplicate"


@pytest.mark.parametrize("fields, pdf, status, code", [
    ({"declaration": ""}, None, 422, "declaration_required"),
    ({}, b"%!PS-Adobe-3.0 not a pdf", 415, "not_pdf"),
    ({}, "encrypted", 422, "encrypted_pdf"),
    ({"agency": "giaohieu", "procedure": "2.000843"}, None, 422, "procedure_not_offered"),
    ({"copies": "-1"}, None, 422, "invalid_field"),
])
def test_filing_refusals_store_nothing(api, system, fields, pdf, status, code):
    before = counts(system)
    resp = api.file_dossier(pdf=encrypted_pdf() if pdf == "encrypted" else pdf, **fields)
    assert resp.status_code == status and error_code(resp) == code
    assert counts(system) == before


def test_file_over_the_limit_stores_nothing(api, system):
    system.settings.max_upload_bytes = 40_000
    before = counts(system)
    resp = api.file_dossier(pdf=make_pdf(1) + b"%" * 50_000)
    assert resp.status_code == 413 and error_code(resp) == "pdf_too_large"
    assert counts(system) == before


# -- payment ---------------------------------------------------------------------------------------------------
def provider(system) -> DevPaymentProvider:
    return DevPaymentProvider(system.settings.secret_key)


def signed(system, reference, result="success", amount="4000", transaction="DEV1"):
    params = {"reference": reference, "result": result, "transaction": transaction, "amount": amount}
    params["signature"] = provider(system).signature(params)
    return params


def test_online_payment_through_the_provider(api, system):
    code = api.file_dossier(pages=2, payment="online").get_json()["code"]
    assert api.post(f"/dossiers/{code}/payments", "one_stop.pcc1").status_code == 404
    started = api.post(f"/dossiers/{code}/payments", "citizen")
    assert started.status_code == 201, started.get_json()
    payment = started.get_json()
    assert payment["status"] == "pending" and payment["amount_vnd"] == 4000
    assert payment["pay_url"] == f"/cong-dan/thanh-toan-thu/{payment['reference']}"
    assert api.post(f"/dossiers/{code}/payments", "citizen").get_json()["reference"] == payment["reference"]
    ref = payment["reference"]

    forged = {**signed(system, ref), "signature": "0" * 64}
    assert api.post(f"/payments/{ref}/notify", json=forged).status_code == 403
    tampered = {**signed(system, ref), "result": "failed"}
    assert error_code(api.post(f"/payments/{ref}/notify", json=tampered)) == "bad_payment_signature"
    assert api.get(f"/dossiers/{code}", "citizen").get_json()["fee"]["paid"] is False

    ok = api.post(f"/payments/{ref}/notify", data=signed(system, ref))
    assert ok.status_code == 200 and ok.get_json() == {"reference": ref, "status": "paid"}
    assert api.post(f"/payments/{ref}/notify", json=signed(system, ref)).status_code == 200  # repeat: no change
    assert error_code(api.post(f"/payments/{ref}/notify", json=signed(system, ref, "failed", transaction=""))) \
        == "payment_settled"
    listed = api.get(f"/dossiers/{code}/payments", "citizen").get_json()
    assert listed["fee"] == {"amount_vnd": 4000, "paid": True}
    assert [(p["status"], p["transaction"]) for p in listed["payments"]] == [("paid", "DEV1")]
    assert error_code(api.post(f"/dossiers/{code}/payments", "citizen")) == "not_payable"
    assert api.get(f"/dossiers/{code}/payments", "one_stop.pcc1").status_code == 200
    assert api.get(f"/dossiers/{code}/payments", "one_stop.pacnam").status_code == 404
    with system.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.dedup_key == f"{code}:paid:{ref}:sms")) == 1


def test_failed_payment_then_a_new_one(api, system):
    code = api.file_dossier(pages=1).get_json()["code"]
    ref = api.post(f"/dossiers/{code}/payments", "citizen").get_json()["reference"]
    failed = api.post(f"/payments/{ref}/notify", json=signed(system, ref, "failed", "2000", ""))
    assert failed.get_json()["status"] == "failed"
    assert api.get(f"/dossiers/{code}", "citizen").get_json()["fee"]["paid"] is False
    second = api.post(f"/dossiers/{code}/payments", "citizen").get_json()
    assert second["reference"] != ref and second["status"] == "pending"
    assert api.post("/payments/TT000/notify", json=signed(system, "TT000")).status_code == 404


def test_counter_payment_by_the_one_stop_officer(api, system):
    code = api.file_dossier(pages=3, copies="2").get_json()["code"]
    assert api.post(f"/dossiers/{code}/payments/counter", "citizen").status_code == 404
    assert api.post(f"/dossiers/{code}/payments/counter", "leader.pcc1").status_code == 403
    assert api.post(f"/dossiers/{code}/payments/counter", "one_stop.pacnam").status_code == 404
    resp = api.post(f"/dossiers/{code}/payments/counter", "one_stop.pcc1")
    assert resp.status_code == 201 and resp.get_json()["provider"] == "counter"
    assert resp.get_json()["amount_vnd"] == 10000
    assert api.post(f"/dossiers/{code}/payments/counter", "one_stop.pcc1").status_code == 409
    assert api.get(f"/dossiers/{code}", "citizen").get_json()["fee"]["paid"] is True


def _return_dossier(api, system, code):
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("leader.pcc1", code, "assign", {"signer": "signer.pcc1"}).status_code == 200
    assert api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo").status_code == 200
    with system.db.session() as session:
        register = session.scalar(select(Register.id).join(Agency).where(Agency.slug == "pcc1"))
    assert api.complete("clerk.pcc1", code, "seal", {"register": register}, pin="demo").status_code == 200


def test_paid_online_returns_without_the_counter_and_then_the_rating(api, system):
    code = api.file_dossier(pages=2, payment="online").get_json()["code"]
    ref = api.post(f"/dossiers/{code}/payments", "citizen").get_json()["reference"]
    api.post(f"/payments/{ref}/notify", json=signed(system, ref))
    assert error_code(api.post(f"/dossiers/{code}/rating", "citizen", json={"stars": 5})) == "not_returned"
    _return_dossier(api, system, code)
    resp = api.complete("one_stop.pcc1", code, "return", {"fee_paid": False})
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "returned"

    assert api.post(f"/dossiers/{code}/rating", "one_stop.pcc1", json={"stars": 5}).status_code == 404
    for bad in (0, 6, "năm", None):
        assert error_code(api.post(f"/dossiers/{code}/rating", "citizen", json={"stars": bad})) == "invalid_field"
    assert api.get(f"/dossiers/{code}/rating", "citizen").status_code == 404
    rated = api.post(f"/dossiers/{code}/rating", "citizen", json={"stars": 4, "comment": "Nhanh, đúng hẹn"})
    assert rated.status_code == 201 and rated.get_json()["label"] == "Hài lòng"
    assert error_code(api.post(f"/dossiers/{code}/rating", "citizen", json={"stars": 5})) == "already_rated"
    assert api.get(f"/dossiers/{code}/rating", "one_stop.pcc1").get_json()["stars"] == 4
    with system.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Rating)) == 1


def test_filing_receipt_and_notifications(api, system):
    code = api.file_dossier(pages=3).get_json()["code"]
    pdf = api.get(f"/dossiers/{code}/filing-receipt.pdf", "citizen")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "BIÊN NHẬN HỒ SƠ NỘP TRỰC TUYẾN" in text and code in text and "5.000 đồng" in text
    assert api.get(f"/dossiers/{code}/filing-receipt.pdf", "one_stop.pacnam").status_code == 404
    api.complete("one_stop.pcc1", code, "intake", {"decision": "supplement", "reason": "Bản scan bị mờ trang 2"})
    notes = api.get("/notifications", "citizen").get_json()
    assert any("Bản scan bị mờ trang 2" in n["message"] and n["dossier"] == code and not n["read"] for n in notes)
    assert api.post("/notifications/read", "citizen").get_json()["marked"] >= 1
    assert all(n["read"] for n in api.get("/notifications", "citizen").get_json())
