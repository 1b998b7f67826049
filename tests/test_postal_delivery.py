"""Postal delivery of the result (nhận kết quả qua bưu chính): the address (and a phone for the postman) at filing,
shown on the dossier pages and the receipts, and the postal item number (số hiệu bưu gửi) at the return step."""
from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.errors import Unprocessable
from app.adapters.models import Document, Dossier, Event, HumanTask
from app.replay import make_pdf
from app.domain.postal import postal_details, postal_tracking_at_return
from tests.test_citizen_api import _return_dossier
from tests.test_citizen_pages import Browser, _details, _filing, hidden, text
from tests.test_staff_pages import Staff, complete, pdf_text, task_id, walk_in

ADDRESS = "Số 12 ngõ 34 phố Huế, phường Phạm Đình Hổ, quận Hai Bà Trưng, Hà Nội"
TRACKING = "EB123456789VN"


def counts(system) -> tuple[int, int, int]:
    with system.db.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(model)) for model in (Dossier, Document, Event))


def field_error(resp, field: str) -> str:
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_field", error
    assert set(error["details"]["fields"]) == {field}, error
    return error["details"]["fields"][field]


def flat(pdf_text_value: str) -> str:
    return " ".join(pdf_text_value.split())


def file_post(api, user="citizen", **fields):
    return api.file_dossier(user, delivery="post", **{"postal_address": ADDRESS, **fields})


# -- the rules as plain functions ----------------------------------------------------------------------------------
def test_postal_details_rules():
    assert postal_details("post", {"postal_address": f"  {ADDRESS}  ", "postal_phone": "0912 345 678"}) == \
        (ADDRESS, "0912345678")
    assert postal_details("post", {"postal_address": ADDRESS, "postal_phone": "+84912345678"})[1] == "+84912345678"
    assert postal_details("post", {"postal_address": ADDRESS, "postal_phone": ""}) == (ADDRESS, None)
    assert postal_details("online", {"postal_address": "   ", "postal_phone": ""}) == (None, None)
    for delivery, fields, field in [
        ("post", {}, "postal_address"),
        ("post", {"postal_address": "   Hà Nội   "}, "postal_address"),
        ("post", {"postal_address": "x" * 501}, "postal_address"),
        ("post", {"postal_address": ADDRESS, "postal_phone": "12345"}, "postal_phone"),
        ("online", {"postal_address": ADDRESS}, "postal_address"),
        ("email", {"postal_phone": "0912345678"}, "postal_phone"),
    ]:
        with pytest.raises(Unprocessable) as caught:
            postal_details(delivery, fields)
        assert set(caught.value.details["fields"]) == {field}, (delivery, fields)
    assert postal_tracking_at_return("post", f" {TRACKING} ") == TRACKING
    assert postal_tracking_at_return("online", None) is None
    with pytest.raises(Unprocessable):
        postal_tracking_at_return("post", "")
    with pytest.raises(Unprocessable):
        postal_tracking_at_return("email", TRACKING)


# -- filing through the API ----------------------------------------------------------------------------------------
def test_post_without_address_is_refused_and_creates_nothing(api, system):
    before = counts(system)
    message = field_error(api.file_dossier(delivery="post"), "postal_address")
    assert message == "Cần nhập địa chỉ nhận kết quả qua bưu chính."
    assert field_error(api.file_dossier(delivery="post", postal_address="    "), "postal_address") == message
    assert counts(system) == before


def test_address_too_short_or_too_long_is_refused(api, system):
    before = counts(system)
    short = field_error(api.file_dossier(delivery="post", postal_address="  Hà Nội  "), "postal_address")
    assert "từ 10 đến 500 ký tự" in short
    assert "từ 10 đến 500 ký tự" in field_error(api.file_dossier(delivery="post", postal_address="x" * 501),
                                                 "postal_address")
    assert counts(system) == before


def test_postal_fields_without_post_delivery_are_refused(api, system):
    before = counts(system)
    message = field_error(api.file_dossier(delivery="online", postal_address=ADDRESS), "postal_address")
    assert "chỉ nhập khi chọn nhận kết quả qua bưu chính" in message
    assert field_error(api.file_dossier(delivery="email", postal_phone="0912345678"), "postal_phone")
    assert field_error(api.file_dossier("one_stop.pcc1", citizen="001090012345", postal_address=ADDRESS),
                       "postal_address")
    assert counts(system) == before


@pytest.mark.parametrize("phone", ["12345", "0912abc678", "091234567", "+8491234", "84912345678"])
def test_invalid_postal_phone_is_refused(api, system, phone):
    before = counts(system)
    assert "Số điện thoại nhận bưu gửi không hợp lệ" in field_error(file_post(api, postal_phone=phone),
                                                                      "postal_phone")
    assert counts(system) == before


def test_post_dossier_shows_the_address_in_json_pages_and_filing_receipt(api, app, system):
    resp = file_post(api, postal_address=f"   {ADDRESS}  ", postal_phone="0912 345 678")
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    for user in ("citizen", "one_stop.pcc1", "auditor"):
        detail = api.get(f"/dossiers/{code}", user).get_json()
        assert detail["delivery"] == "post" and detail["postal_address"] == ADDRESS, user
        assert detail["postal_phone"] == "0912345678" and detail["postal_tracking"] is None
    assert api.get(f"/dossiers/{code}", "one_stop.pacnam").status_code == 404
    submitted = api.get(f"/dossiers/{code}", "auditor").get_json()["history"][0]
    # the immutable history records the choice, not the personal data (the dossier holds it)
    assert submitted["kind"] == "submitted" and submitted["data"]["delivery"] == "post"
    assert ADDRESS not in json.dumps(submitted, ensure_ascii=False)

    staff_page = Staff(app, "one_stop.pcc1").html(f"/staff/dossiers/{code}")
    assert "Địa chỉ nhận bưu gửi" in staff_page and ADDRESS in staff_page and "0912345678" in staff_page
    citizen = Browser(app.test_client()).login("citizen")
    citizen_page = text(citizen.get(f"/cong-dan/ho-so/{code}"))
    assert "Địa chỉ nhận kết quả" in citizen_page and ADDRESS in citizen_page
    pdf = api.get(f"/dossiers/{code}/filing-receipt.pdf", "citizen")
    assert pdf.status_code == 200
    receipt = flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_data())).pages))
    assert ADDRESS in receipt and "0912345678" in receipt

    online = api.file_dossier().get_json()["code"]
    detail = api.get(f"/dossiers/{online}", "citizen").get_json()
    assert detail["postal_address"] is None and detail["postal_phone"] is None
    assert "Địa chỉ nhận bưu gửi" not in Staff(app, "one_stop.pcc1").html(f"/staff/dossiers/{online}")


def test_intake_receipt_pdf_contains_the_postal_address(api, system):
    code = file_post(api, postal_phone="+84912345678").get_json()["code"]
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    resp = api.get(f"/dossiers/{code}/receipt.pdf", "one_stop.pcc1")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    receipt = flat(pdf_text(resp.get_data()))
    assert "GIẤY TIẾP NHẬN HỒ SƠ" in receipt and "Nhận qua dịch vụ bưu chính" in receipt
    assert "Địa chỉ nhận kết quả qua bưu chính" in receipt and ADDRESS in receipt and "+84912345678" in receipt
    other = api.file_dossier().get_json()["code"]
    api.complete("one_stop.pcc1", other, "intake", {"decision": "accept"})
    assert "bưu chính" not in flat(pdf_text(api.get(f"/dossiers/{other}/receipt.pdf", "one_stop.pcc1").get_data()))


# -- walk-in -------------------------------------------------------------------------------------------------------
def test_walk_in_with_post_through_the_api_and_the_page(api, app, system):
    resp = file_post(api, "one_stop.pcc1", citizen="001090012345", postal_phone="0987654321")
    assert resp.status_code == 201, resp.get_json()
    detail = api.get(f"/dossiers/{resp.get_json()['code']}", "one_stop.pcc1").get_json()
    assert detail["delivery"] == "post" and detail["postal_address"] == ADDRESS
    assert detail["applicant"]["username"] == "citizen"
    # a walk-in without an account may also choose post (otherwise the result goes by e-mail)
    guest = file_post(api, "one_stop.pcc1", email="khach@example.vn")
    assert guest.status_code == 201, guest.get_json()
    assert api.get(f"/dossiers/{guest.get_json()['code']}", "one_stop.pcc1").get_json()["delivery"] == "post"
    before = counts(system)
    assert field_error(api.file_dossier("one_stop.pcc1", citizen="001090012345", delivery="post"),
                       "postal_address")
    assert counts(system) == before

    one_stop = Staff(app, "one_stop.giaohieu")
    form = one_stop.html("/staff/walk-in?id_number=001090012345")
    assert 'name="postal_address"' in form and 'name="postal_phone"' in form and "postal.js" in form
    data = {"citizen": "001090012345", "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
            "payment": "counter", "delivery": "post", "declaration": "true", "postal_address": "Hà Nội",
            "original": (io.BytesIO(make_pdf(1)), "ban-chinh.pdf")}
    refused = one_stop.post("/staff/walk-in", data, content_type="multipart/form-data")
    assert refused.status_code == 422 and "từ 10 đến 500 ký tự" in refused.get_data(as_text=True)
    assert counts(system) == before
    code = walk_in(one_stop, delivery="post", postal_address=ADDRESS, postal_phone="0912345678")
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert (dossier.delivery, dossier.postal_address, dossier.postal_phone) == ("post", ADDRESS, "0912345678")
    task_page = one_stop.html(f"/staff/tasks/{task_id(system, code, 'intake')}")
    assert ADDRESS in task_page


# -- the return step -----------------------------------------------------------------------------------------------
def _ready_return(system, code) -> tuple[str, str]:
    with system.db.session() as session:
        row = session.scalar(select(HumanTask).join(Dossier).where(Dossier.code == code, HumanTask.name == "return"))
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        return (row.id if row else None), dossier.status


def test_return_by_post_needs_the_tracking_number(api, app, system):
    code = file_post(api).get_json()["code"]
    _return_dossier(api, system, code)
    task = api.task_for("one_stop.pcc1", code, "return")
    history = api.get(f"/dossiers/{code}", "auditor").get_json()["history"]

    resp = api.complete("one_stop.pcc1", code, "return", {"fee_paid": True})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "postal_tracking_required" and "số hiệu bưu gửi" in error["details"]["fields"][
        "postal_tracking"]
    bad = api.complete("one_stop.pcc1", code, "return", {"fee_paid": True, "postal_tracking": "EB 12"})
    assert bad.status_code == 422 and "postal_tracking" in bad.get_json()["error"]["details"]["fields"]
    assert _ready_return(system, code) == (task["id"], "awaiting_return")
    detail = api.get(f"/dossiers/{code}", "auditor").get_json()
    assert detail["history"] == history and detail["postal_tracking"] is None and detail["fee"]["paid"] is False

    # the page asks for it (required) and says so when it is missing
    one_stop = Staff(app, "one_stop.pcc1")
    page = one_stop.html(f"/staff/tasks/{task['id']}")
    assert 'name="postal_tracking"' in page and "Số hiệu bưu gửi" in page and ADDRESS in page
    refused = complete(one_stop, system, code, "return", {"fee_paid": "true"})
    assert refused.status_code == 422
    assert "Hồ sơ nhận kết quả qua bưu chính: cần nhập số hiệu bưu gửi." in refused.get_data(as_text=True)
    assert _ready_return(system, code) == (task["id"], "awaiting_return")

    done = complete(one_stop, system, code, "return", {"fee_paid": "true", "postal_tracking": TRACKING})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    detail = api.get(f"/dossiers/{code}", "citizen").get_json()
    assert detail["status"] == "returned" and detail["postal_tracking"] == TRACKING
    returned = [e for e in detail["history"] if e["kind"] == "task_completed" and e["task"] == "return"]
    assert returned[-1]["data"]["postal_tracking"] == TRACKING
    notes = [n["message"] for n in api.get("/notifications", "citizen").get_json() if n["dossier"] == code]
    assert any("đã có kết quả" in m and f"số hiệu bưu gửi: {TRACKING}" in m for m in notes), notes
    assert TRACKING in one_stop.html(f"/staff/dossiers/{code}")
    citizen = Browser(app.test_client()).login("citizen")
    assert TRACKING in text(citizen.get(f"/cong-dan/ho-so/{code}"))


def test_tracking_number_on_a_dossier_not_sent_by_post_is_refused(api, app, system):
    code = api.file_dossier().get_json()["code"]
    _return_dossier(api, system, code)
    task = api.task_for("one_stop.pcc1", code, "return")
    assert 'name="postal_tracking"' not in Staff(app, "one_stop.pcc1").html(f"/staff/tasks/{task['id']}")
    resp = api.complete("one_stop.pcc1", code, "return", {"fee_paid": True, "postal_tracking": TRACKING})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "postal_tracking_not_allowed"
    assert "postal_tracking" in resp.get_json()["error"]["details"]["fields"]
    assert _ready_return(system, code) == (task["id"], "awaiting_return")
    ok = api.complete("one_stop.pcc1", code, "return", {"fee_paid": True})
    assert ok.status_code == 200 and ok.get_json()["dossier"]["status"] == "returned"
    assert api.get(f"/dossiers/{code}", "citizen").get_json()["postal_tracking"] is None
    notes = [n["message"] for n in api.get("/notifications", "citizen").get_json() if n["dossier"] == code]
    assert f"Hồ sơ {code} đã có kết quả: bản sao điện tử đã được chứng thực." in notes


# -- the citizen's filing form -------------------------------------------------------------------------------------
def test_citizen_files_for_post_on_the_pages(client, system):
    browser = Browser(client).login("citizen")
    key, form = _details(browser)
    assert 'name="postal_address"' in form and 'name="postal_phone"' in form and "postal.js" in form
    before = counts(system)
    missing = browser.post("/cong-dan/nop-ho-so/thong-tin", _filing(key, delivery="post"))
    assert missing.status_code == 422 and "Cần nhập địa chỉ nhận kết quả qua bưu chính." in text(missing)
    assert 'id="err-postal_address"' in text(missing)
    bad_phone = browser.post("/cong-dan/nop-ho-so/thong-tin",
                             _filing(key, delivery="post", postal_address=ADDRESS, postal_phone="123"))
    assert bad_phone.status_code == 422 and 'id="err-postal_phone"' in text(bad_phone)
    assert ADDRESS in text(bad_phone)  # what was typed is kept
    assert counts(system) == before

    checked = browser.post("/cong-dan/nop-ho-so/thong-tin",
                           _filing(key, delivery="post", postal_address=ADDRESS, postal_phone="0912345678"))
    page = text(checked)
    assert checked.status_code == 200 and ADDRESS in page and "0912345678" in page and "Nhận qua bưu điện" in page
    assert counts(system)[0] == before[0]
    confirmed = browser.post("/cong-dan/nop-ho-so/xac-nhan", {"draft": hidden(page, "draft")})
    assert confirmed.status_code == 302
    with system.db.session() as session:
        dossier = session.scalars(select(Dossier)).one()
        assert (dossier.delivery, dossier.postal_address, dossier.postal_phone) == ("post", ADDRESS, "0912345678")
    assert ADDRESS in text(browser.get(confirmed.headers["Location"]))
