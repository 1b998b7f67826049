"""Kho dữ liệu của công dân (the citizen's document store): the original filed online and the certified copy
returned go to the citizen's store; a stored original files a new dossier without a new scan; nobody else can see,
download, delete or file a citizen's documents; bad input is a 4xx that creates nothing."""
from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from app.adapters.models import Base, CitizenDocument, Document, Dossier, User
from app.replay import make_pdf

from .test_citizen_api import REGISTRATION
from .test_citizen_pages import Browser, hidden, text


def error_of(resp) -> dict:
    body = resp.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


def count(system, model=CitizenDocument) -> int:
    with system.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def snapshot(system) -> dict:
    with system.db.session() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def register_id(system, slug: str) -> int:
    from app.adapters.models import Agency, Register
    with system.db.session() as session:
        return session.scalar(select(Register.id).join(Agency, Register.agency_id == Agency.id)
                              .where(Agency.slug == slug, Register.closed.is_(False)).order_by(Register.id))


def drive_to_returned(api, system, code: str, slug: str = "pcc1") -> None:
    assert api.complete(f"one_stop.{slug}", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete(f"leader.{slug}", code, "assign", {"signer": f"signer.{slug}"}).status_code == 200
    resp = api.complete(f"signer.{slug}", code, "review_sign", {"decision": "approve"}, pin="demo")
    assert resp.status_code == 200, resp.get_json()
    resp = api.complete(f"clerk.{slug}", code, "seal", {"register": register_id(system, slug)}, pin="demo")
    assert resp.status_code == 200, resp.get_json()
    resp = api.complete(f"one_stop.{slug}", code, "return", {"fee_paid": True})
    assert resp.status_code == 200 and resp.get_json()["dossier"]["status"] == "returned", resp.get_json()


def second_citizen(api) -> str:
    assert api.post("/auth/register", json=REGISTRATION).status_code == 201
    api.login(REGISTRATION["username"], REGISTRATION["password"])
    return REGISTRATION["username"]


def file_from_store(api, document_id, user="citizen", **fields):
    data = {"agency": "pcc1", "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
            "delivery": "online", "payment": "counter", "declaration": "true", "document_id": str(document_id),
            **fields}
    return api.post("/dossiers", user, data=data)


def stored(api, user="citizen", kind=None) -> list[dict]:
    resp = api.get("/me/documents", user)
    assert resp.status_code == 200, resp.get_json()
    return [d for d in resp.get_json() if kind is None or d["kind"] == kind]


# -- filling the store -----------------------------------------------------------------------------------------
def test_the_original_filed_online_is_stored_once(api, system):
    pdf = make_pdf(3, "Giấy khai sinh")
    first = api.file_dossier(pdf=pdf, document_type="Giấy khai sinh").get_json()["code"]
    docs = stored(api)
    assert len(docs) == 1
    doc = docs[0]
    assert doc["kind"] == "original" and doc["title"] == "Giấy khai sinh" and doc["dossier"] == first
    assert doc["size"] == len(pdf) and doc["pages"] == 3 and doc["filename"] == "ban-chinh.pdf"
    assert doc["certification_number"] is None and doc["created_at"]
    download = api.get(f"/me/documents/{doc['id']}/file", "citizen")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.get_data() == pdf
    # the same file filed again is not stored twice; another file is, newest first
    api.file_dossier(pdf=pdf)
    assert count(system) == 1
    api.file_dossier(pdf=make_pdf(1, "Bằng tốt nghiệp"), document_type="Bằng tốt nghiệp")
    assert [d["title"] for d in stored(api)] == ["Bằng tốt nghiệp", "Giấy khai sinh"]


def test_a_returned_dossier_puts_the_certified_copy_in_the_store(api, system):
    code = api.file_dossier(pages=2).get_json()["code"]
    assert stored(api, kind="certified_copy") == []
    drive_to_returned(api, system, code)
    copies = stored(api, kind="certified_copy")
    assert len(copies) == 1
    copy = copies[0]
    assert copy["dossier"] == code and copy["title"] == "Giấy khai sinh" and copy["certification_number"] == 1
    assert stored(api)[0]["id"] == copy["id"]  # newest first
    result = api.get(f"/dossiers/{code}/result.pdf", "citizen")
    mine = api.get(f"/me/documents/{copy['id']}/file", "citizen")
    assert mine.status_code == 200 and mine.get_data() == result.get_data()
    assert copy["size"] == len(result.get_data())
    with system.db.session() as session:
        row = session.get(CitizenDocument, copy["id"])
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert row.sha256 == dossier.result_sha256 == hashlib.sha256(mine.get_data()).hexdigest()
        assert row.dossier_id == dossier.id


def test_sealed_but_not_returned_is_not_in_the_store(api, system):
    code = api.file_dossier().get_json()["code"]
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("leader.pcc1", code, "assign", {"signer": "signer.pcc1"}).status_code == 200
    api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo")
    api.complete("clerk.pcc1", code, "seal", {"register": register_id(system, "pcc1")}, pin="demo")
    assert api.complete("one_stop.pcc1", code, "return", {"fee_paid": False}).status_code == 422
    assert stored(api, kind="certified_copy") == []


def test_walk_in_without_an_account_stores_nothing(api, system):
    code = api.file_dossier("one_stop.pcc1", agency="pcc1", email="nguoidan@example.vn").get_json()["code"]
    drive_to_returned(api, system, code)
    assert count(system) == 0
    # a walk-in for a citizen with an account: not filed online, but the result reaches their store
    code = api.file_dossier("one_stop.pcc1", agency="pcc1", citizen="001090012345",
                            pdf=make_pdf(2, "Học bạ")).get_json()["code"]
    assert stored(api) == []
    drive_to_returned(api, system, code)
    assert [(d["kind"], d["dossier"]) for d in stored(api)] == [("certified_copy", code)]


# -- filing from the store -------------------------------------------------------------------------------------
def test_filing_from_a_stored_original_is_like_uploading_it(api, system):
    pdf = make_pdf(4, "Hộ chiếu")
    first = api.file_dossier(pdf=pdf, copies="2").get_json()
    doc = stored(api)[0]
    resp = file_from_store(api, doc["id"], copies="2")
    assert resp.status_code == 201, resp.get_json()
    second = resp.get_json()
    assert second["code"] != first["code"] and second["fee"] == first["fee"]
    assert second["fee"]["pages"] == 4 and second["fee"]["amount_vnd"] == 2 * (2000 * 2 + 1000 * 2)
    with system.db.session() as session:
        a, b = (session.scalar(select(Dossier).where(Dossier.code == c)) for c in (first["code"], second["code"]))
        assert a.original_sha256 == b.original_sha256 and a.pages == b.pages == 4
        original = session.scalar(select(Document).where(Document.dossier_id == b.id, Document.kind == "original"))
        assert original.sha256 == hashlib.sha256(pdf).hexdigest() and original.size == len(pdf)
    assert count(system) == 1  # still one stored original
    detail = api.get(f"/dossiers/{second['code']}", "citizen").get_json()
    assert detail["status"] == "submitted" and [t["name"] for t in detail["tasks"]] == ["intake"]


def test_bad_filings_from_the_store_are_refused_and_create_nothing(api, system):
    code = api.file_dossier(pdf=make_pdf(2)).get_json()["code"]
    drive_to_returned(api, system, code)
    original = stored(api, kind="original")[0]["id"]
    copy = stored(api, kind="certified_copy")[0]["id"]
    other = second_citizen(api)
    theirs = api.file_dossier(other, pdf=make_pdf(1, "Của người khác"))
    assert theirs.status_code == 201
    their_doc = stored(api, other)[0]["id"]
    before = snapshot(system)

    both = api.post("/dossiers", "citizen", data={
        "agency": "pcc1", "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
        "declaration": "true", "document_id": str(original), "original": (io.BytesIO(make_pdf(1)), "a.pdf")})
    assert both.status_code == 422 and "document_id" in error_of(both)["details"]["fields"]
    neither = api.post("/dossiers", "citizen", data={"agency": "pcc1", "procedure": "2.000815",
                                                     "document_type": "Giấy khai sinh", "copies": "1",
                                                     "declaration": "true"})
    assert neither.status_code == 422 and error_of(neither)["code"] == "missing_file"
    assert {"original", "document_id"} <= set(error_of(neither)["details"]["fields"])
    for bad in (their_doc, 999999):
        resp = file_from_store(api, bad)
        assert resp.status_code == 422 and error_of(resp)["code"] == "unknown_document", bad
        assert "document_id" in error_of(resp)["details"]["fields"]
    resp = file_from_store(api, copy)
    assert resp.status_code == 422 and error_of(resp)["code"] == "not_an_original"
    for junk in ("abc", "-1", "0", "1.5"):
        resp = file_from_store(api, junk)
        assert resp.status_code == 422 and "document_id" in error_of(resp)["details"]["fields"], junk
    # the other citizen cannot file mine either, and a walk-in cannot file from a store
    resp = file_from_store(api, original, user=other)
    assert resp.status_code == 422 and error_of(resp)["code"] == "unknown_document"
    resp = file_from_store(api, original, user="one_stop.pcc1", email="a@example.vn")
    assert resp.status_code == 422 and "document_id" in error_of(resp)["details"]["fields"]
    # the other checks still come first: a bad field with a good document is refused too
    resp = file_from_store(api, original, declaration="false")
    assert resp.status_code == 422 and error_of(resp)["code"] == "declaration_required"
    assert snapshot(system) == before


# -- privacy and roles -----------------------------------------------------------------------------------------
def test_another_citizen_cannot_list_download_or_delete_my_documents(api, system):
    api.file_dossier(pdf=make_pdf(2, "Của tôi"))
    mine = stored(api)[0]["id"]
    other = second_citizen(api)
    assert stored(api, other) == []
    before = snapshot(system)
    resp = api.get(f"/me/documents/{mine}/file", other)
    assert resp.status_code == 404 and error_of(resp)["code"] == "unknown_document"
    resp = api.call("DELETE", f"/me/documents/{mine}", other)
    assert resp.status_code == 404
    assert api.get("/me/documents/999999/file", "citizen").status_code == 404
    assert api.call("DELETE", "/me/documents/999999", "citizen").status_code == 404
    for staff in ("one_stop.pcc1", "auditor", "admin", "signer.pcc1"):
        assert api.get("/me/documents", staff).status_code == 403, staff
        assert api.get(f"/me/documents/{mine}/file", staff).status_code == 403, staff
        assert api.call("DELETE", f"/me/documents/{mine}", staff).status_code == 403, staff
    assert api.get("/me/documents").status_code == 401
    assert snapshot(system) == before
    assert [d["id"] for d in stored(api)] == [mine]


def test_delete_removes_from_the_store_and_keeps_the_dossier_copy(api, system):
    code = api.file_dossier().get_json()["code"]
    drive_to_returned(api, system, code)
    copy = stored(api, kind="certified_copy")[0]
    result = api.get(f"/dossiers/{code}/result.pdf", "citizen").get_data()
    resp = api.call("DELETE", f"/me/documents/{copy['id']}", "citizen")
    assert resp.status_code == 204
    assert [d["kind"] for d in stored(api)] == ["original"]
    assert api.get(f"/me/documents/{copy['id']}/file", "citizen").status_code == 404
    assert api.call("DELETE", f"/me/documents/{copy['id']}", "citizen").status_code == 404
    again = api.get(f"/dossiers/{code}/result.pdf", "citizen")
    assert again.status_code == 200 and again.get_data() == result
    with system.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Document).join(Dossier)
                              .where(Dossier.code == code, Document.kind == "certified_copy")) == 1


# -- pages -----------------------------------------------------------------------------------------------------
@pytest.fixture
def browser(client):
    return Browser(client)


def test_store_page_lists_downloads_deletes_and_files_from_the_store(api, system, browser, app):
    pdf = make_pdf(3, "Giấy chứng nhận kết hôn")
    code = api.file_dossier(pdf=pdf, document_type="Giấy chứng nhận kết hôn").get_json()["code"]
    drive_to_returned(api, system, code)
    original = stored(api, kind="original")[0]["id"]
    copy = stored(api, kind="certified_copy")[0]["id"]
    browser.login("citizen")
    home = text(browser.get("/cong-dan/ho-so"))
    assert "Kho dữ liệu" in home and "/cong-dan/kho-du-lieu" in home
    listing = browser.get("/cong-dan/kho-du-lieu")
    assert listing.status_code == 200
    html = text(listing)
    assert "Kho dữ liệu của công dân" in html and "Giấy chứng nhận kết hôn" in html and code in html
    assert "Bản sao có chứng thực" in html and "1/ĐT" in html
    got = browser.get(f"/cong-dan/kho-du-lieu/{original}/tai-ve")
    assert got.status_code == 200 and got.get_data() == pdf
    assert "Đã lưu vào kho dữ liệu của công dân" in text(browser.get(f"/cong-dan/ho-so/{code}"))
    staff = Browser(app.test_client()).login("one_stop.pcc1")
    assert "Đã lưu vào kho dữ liệu của công dân" in text(staff.get(f"/staff/dossiers/{code}"))

    # the filing form offers the stored originals; choosing one files it without a new upload
    form = text(browser.get("/cong-dan/nop-ho-so/thong-tin?agency=pcc1&procedure=2.000815"))
    assert "Lấy giấy tờ từ kho dữ liệu" in form and f'value="{original}"' in form
    assert f'value="{copy}"' not in form  # a certified copy is not an original
    fields = {"agency": "pcc1", "procedure": "2.000815", "document_type": "Giấy chứng nhận kết hôn",
              "copies": "1", "delivery": "online", "payment": "counter", "declaration": "true",
              "idempotency_key": hidden(form, "idempotency_key")}
    refused = browser.post("/cong-dan/nop-ho-so/thong-tin", {**fields, "document_id": str(copy)})
    assert refused.status_code == 422 and "không phải bản chính" in text(refused)
    checked = browser.post("/cong-dan/nop-ho-so/thong-tin", {**fields, "document_id": str(original)})
    assert checked.status_code == 200, text(checked)
    assert "3 trang" in text(checked)
    done = browser.post("/cong-dan/nop-ho-so/xac-nhan", {"draft": hidden(text(checked), "draft")})
    assert done.status_code == 302
    with system.db.session() as session:
        dossiers = session.scalars(select(Dossier).order_by(Dossier.id)).all()
        assert len(dossiers) == 2 and dossiers[1].original_sha256 == dossiers[0].original_sha256
    assert count(system) == 2  # the original is still stored once, beside the certified copy

    # deleting needs the CSRF token; with it, the document leaves the store, the dossier keeps its copy
    before = count(system)
    forged = browser.client.post(f"/cong-dan/kho-du-lieu/{copy}/xoa", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and count(system) == before
    other = second_citizen(api)
    intruder = Browser(app.test_client()).login(other, REGISTRATION["password"])
    assert intruder.get(f"/cong-dan/kho-du-lieu/{copy}/tai-ve").status_code == 404
    assert code not in text(intruder.get("/cong-dan/kho-du-lieu"))  # also refreshes the page's CSRF token
    assert intruder.post(f"/cong-dan/kho-du-lieu/{copy}/xoa").status_code == 404
    assert count(system) == before
    gone = browser.post(f"/cong-dan/kho-du-lieu/{copy}/xoa", follow_redirects=True)
    assert gone.status_code == 200 and "Đã xóa giấy tờ khỏi kho dữ liệu" in text(gone)
    assert count(system) == before - 1
    assert browser.get(f"/cong-dan/ho-so/{code}/ban-sao.pdf").status_code == 200
    assert Browser(app.test_client()).login("auditor").get("/cong-dan/kho-du-lieu").status_code == 403
    with system.db.session() as session:
        assert session.scalar(select(User.id).where(User.username == other)) is not None
