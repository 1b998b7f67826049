"""Registers through the JSON API: create, list, view, edit, delete only while empty, the numbering at the seal
step (from the start number, none used by a failed seal), which registers the seal step accepts, Excel export."""
from __future__ import annotations

import io
import unicodedata
from datetime import date, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from app.adapters.models import Agency, Dossier, Register, RegisterEntry
from app.replay import make_pdf
from app.domain.calendar import VN_TZ
from tests.test_api_dossiers import accept_and_route, error_code

YEAR = datetime.now(VN_TZ).year  # registers run by the Vietnamese calendar year


def to_seal(api, slug: str = "pcc1", **fields) -> str:
    """A dossier filed, accepted, assigned and signed: waiting for the clerk's seal."""
    code = api.file_dossier(agency=slug, **fields).get_json()["code"]
    accept_and_route(api, code, slug)
    resp = api.complete(f"signer.{slug}", code, "review_sign", {"decision": "approve"}, pin="demo")
    assert resp.get_json()["dossier"]["status"] == "awaiting_seal", resp.get_json()
    return code


def create(api, user="clerk.pcc1", **body):
    payload = {"name": "05/2026", "start_number": 1, "opened_on": f"{YEAR}-01-01", "closes_on": f"{YEAR}-12-31",
               **body}
    return api.post("/registers", user, json=payload)


def patch(api, register_id, user="clerk.pcc1", **body):
    return api.call("PATCH", f"/registers/{register_id}", user, json=body)


def delete(api, register_id, user="clerk.pcc1"):
    return api.call("DELETE", f"/registers/{register_id}", user)


def register_row(system, register_id) -> Register:
    with system.db.session() as session:
        return session.get(Register, register_id)


def test_create_list_view_edit_and_delete_an_empty_register(api, system):
    resp = create(api, name="02/2026", start_number=10)
    assert resp.status_code == 201, resp.get_json()
    book = resp.get_json()
    assert book["name"] == "02/2026" and book["full_name"] == "02/2026-SCTĐT/BS"
    assert book["start_label"] == "10/ĐT" and book["current_number"] is None and book["next_number"] == 10
    assert book["status"] == "open" and book["usable"] is True and book["entries"] == []
    assert book["agency"] == "000.17.01.H03"
    listed = api.get("/registers", "clerk.pcc1").get_json()
    assert {r["full_name"] for r in listed} == {f"01/{YEAR}-SCTĐT/BS", "02/2026-SCTĐT/BS"}

    edited = patch(api, book["id"], name="03/2026", start_number=20, closes_on=f"{YEAR}-06-30", status="closed")
    assert edited.status_code == 200, edited.get_json()
    body = edited.get_json()
    assert (body["name"], body["start_number"], body["next_number"]) == ("03/2026", 20, 20)
    assert body["closes_on"] == f"{YEAR}-06-30" and body["status"] == "closed" and body["usable"] is False
    assert body["status_label"] == "Đã đóng"
    assert patch(api, book["id"], status="open").get_json()["status"] == "open"

    assert delete(api, book["id"]).status_code == 204
    assert api.get(f"/registers/{book['id']}", "clerk.pcc1").status_code == 404
    assert delete(api, book["id"]).status_code == 404


def test_the_suffix_is_added_by_the_system_not_typed(api):
    typed = create(api, name=" 04/2026-SCTĐT/BS ").get_json()
    assert typed["name"] == "04/2026" and typed["full_name"] == "04/2026-SCTĐT/BS"
    decomposed = unicodedata.normalize("NFD", "Sổ Nga 2026")
    book = create(api, name=decomposed).get_json()
    assert book["name"] == unicodedata.normalize("NFC", "Sổ Nga 2026")


def test_bad_input_is_refused_and_changes_nothing(api, system):
    def count():
        with system.db.session() as session:
            return len(session.scalars(select(Register.id)).all())

    before = count()
    cases = [
        ({"name": ""}, "missing_field", "name"),
        ({"name": "x" * 41}, "invalid_field", "name"),
        ({"name": "<script>"}, "invalid_field", "name"),
        ({"start_number": 0}, "invalid_field", "start_number"),
        ({"start_number": "abc"}, "invalid_field", "start_number"),
        ({"start_number": True}, "invalid_field", "start_number"),
        ({"start_number": 10**12}, "invalid_field", "start_number"),
        ({"opened_on": "31-12-2026"}, "invalid_field", "opened_on"),
        ({"closes_on": f"{YEAR - 1}-01-01"}, "invalid_field", "closes_on"),
        ({"status": "maybe"}, "invalid_field", "status"),
        ({"colour": "red"}, "unknown_field", "colour"),
    ]
    for body, code, field in cases:
        resp = create(api, **body)
        assert resp.status_code == 422 and error_code(resp) == code, (body, resp.get_json())
        assert field in resp.get_json()["error"]["details"]["fields"], body
    missing = api.post("/registers", "clerk.pcc1", json={"name": "09/2026"})
    assert missing.status_code == 422 and error_code(missing) == "missing_field"
    assert api.post("/registers", "clerk.pcc1", data="not json").status_code == 400
    assert count() == before
    assert create(api, name=f"01/{YEAR}").status_code == 409  # the demo register's name
    assert create(api, name=f"01/{YEAR}-sctđt/bs").status_code == 409
    first = create(api).get_json()
    assert patch(api, first["id"], name=f"01/{YEAR}").status_code == 409
    assert patch(api, first["id"], closes_on=f"{YEAR - 1}-12-31").status_code == 422
    assert api.call("PATCH", f"/registers/{first['id']}", "clerk.pcc1", data="[]").status_code == 400
    assert count() == before + 1


def test_only_the_agency_clerk_manages_and_staff_and_auditors_read(api):
    book = create(api).get_json()
    assert create(api, user="one_stop.pcc1").status_code == 403
    assert create(api, user="admin").status_code == 403
    assert create(api, user="citizen").status_code == 403
    assert patch(api, book["id"], user="leader.pcc1", status="closed").status_code == 403
    assert patch(api, book["id"], user="clerk.pacnam", status="closed").status_code == 404
    assert delete(api, book["id"], user="clerk.pacnam").status_code == 404
    assert api.get(f"/registers/{book['id']}", "clerk.pacnam").status_code == 404
    assert api.get(f"/registers/{book['id']}", "leader.pcc1").status_code == 200
    assert api.get("/registers", "citizen").status_code == 403
    assert [r["agency"] for r in api.get("/registers", "clerk.pacnam").get_json()] == ["000.00.38.H03"]
    everything = api.get("/registers", "auditor").get_json()
    assert {r["agency"] for r in everything} == {"000.17.01.H03", "000.00.38.H03", "000.38.05.H03"}
    assert {r["agency"] for r in api.get("/registers?agency=giaohieu", "auditor").get_json()} == {"000.38.05.H03"}
    assert api.get("/registers", user=None).status_code == 401


def test_numbers_run_from_the_start_and_a_failed_seal_uses_none(api, system):
    book = create(api, name="07/2026", start_number=41).get_json()
    first, second = to_seal(api), to_seal(api, document_type="Bằng tốt nghiệp")

    wrong = api.complete("clerk.pcc1", first, "seal", {"register": book["id"]}, pin="sai")
    assert wrong.status_code == 422 and error_code(wrong) == "wrong_pin"
    no_pin = api.complete("clerk.pcc1", first, "seal", {"register": book["id"]})
    assert error_code(no_pin) == "pin_required"
    assert register_row(system, book["id"]).next_number == 41

    assert api.complete("clerk.pcc1", first, "seal", {"register": book["id"]}, pin="demo").status_code == 200
    assert api.complete("clerk.pcc1", second, "seal", {"register": book["id"]}, pin="demo").status_code == 200
    result = api.get(f"/dossiers/{second}", "citizen").get_json()["result"]
    assert result["certification_number"] == 42 and result["register"] == "07/2026-SCTĐT/BS"

    view = api.get(f"/registers/{book['id']}", "clerk.pcc1").get_json()
    assert view["current_number"] == 42 and view["current_label"] == "42/ĐT" and view["entry_count"] == 2
    today = datetime.now().astimezone().date()
    assert [(e["stt"], e["number_label"], e["dossier"], e["document_type"], e["applicant"]) for e in view["entries"]] \
        == [(1, "41/ĐT", first, "Giấy khai sinh", "Nguyễn Văn An"),
            (2, "42/ĐT", second, "Bằng tốt nghiệp", "Nguyễn Văn An")]
    assert abs((date.fromisoformat(view["entries"][0]["certified_on"]) - today).days) <= 1

    locked = patch(api, book["id"], start_number=1)
    assert locked.status_code == 409 and error_code(locked) == "register_not_empty"
    assert "start_number" in locked.get_json()["error"]["details"]["fields"]
    assert patch(api, book["id"], name="08/2026").status_code == 409
    assert patch(api, book["id"], start_number=41, name="07/2026").status_code == 200  # unchanged values pass
    later = date.fromordinal(date.today().toordinal() + 2)
    moved = patch(api, book["id"], opened_on=later.isoformat(), closes_on=f"{later.year}-12-31")
    assert moved.status_code == 422 and "opened_on" in moved.get_json()["error"]["details"]["fields"]
    refused = delete(api, book["id"])
    assert refused.status_code == 409 and error_code(refused) == "register_not_empty"
    assert "chỉ xóa được sổ còn trống" in refused.get_json()["error"]["message"]
    assert register_row(system, book["id"]).next_number == 43


def test_seal_step_takes_only_an_open_register_of_the_agency_within_its_dates(api, system):
    code = to_seal(api)
    closed = create(api, name="10/2026", status="closed").get_json()
    future = create(api, name="11/2026", opened_on=f"{YEAR + 1}-01-01", closes_on=f"{YEAR + 1}-12-31").get_json()
    past = create(api, name="12/2026", opened_on=f"{YEAR - 2}-01-01", closes_on=f"{YEAR - 1}-12-31").get_json()
    elsewhere = create(api, user="clerk.pacnam", name="13/2026").get_json()
    for book, code_expected in ((closed, "register_closed"), (future, "register_closed"), (past, "register_closed"),
                                (elsewhere, "unknown_register")):
        resp = api.complete("clerk.pcc1", code, "seal", {"register": book["id"]}, pin="demo")
        assert resp.status_code == 422 and error_code(resp) == code_expected, resp.get_json()
    assert error_code(api.complete("clerk.pcc1", code, "seal", {"register": 999999}, pin="demo")) == "unknown_register"
    usable = api.get("/registers?usable=true", "clerk.pcc1").get_json()
    assert [r["name"] for r in usable] == [f"01/{YEAR}"]
    assert {r["status_label"] for r in api.get("/registers", "clerk.pcc1").get_json()} >= {
        "Đã đóng", "Chưa đến ngày mở sổ", "Đã quá ngày đóng sổ", "Đang mở"}
    for book in (closed, future, past):
        assert register_row(system, book["id"]).next_number == 1
    assert api.get(f"/dossiers/{code}", "auditor").get_json()["status"] == "awaiting_seal"


def test_a_seal_that_fails_on_its_file_or_seal_image_uses_no_number(api, system):
    book = create(api, name="14/2026", start_number=7).get_json()
    code = to_seal(api)
    with system.db.session() as session, session.begin():
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        signed_sha = dossier.attested_sha256
        dossier.attested_sha256 = system.files.put(make_pdf(1))  # a PDF the signer never attested
    bad_file = api.complete("clerk.pcc1", code, "seal", {"register": book["id"]}, pin="demo")
    assert bad_file.status_code == 422 and error_code(bad_file).startswith("signing_"), bad_file.get_json()
    with system.db.session() as session, session.begin():
        session.scalar(select(Dossier).where(Dossier.code == code)).attested_sha256 = signed_sha
        agency = session.scalar(select(Agency).where(Agency.slug == "pcc1"))
        seal_image, agency.seal_image_sha256 = agency.seal_image_sha256, None
    no_image = api.complete("clerk.pcc1", code, "seal", {"register": book["id"]}, pin="demo")
    assert error_code(no_image) == "missing_seal_image" and "ảnh con dấu" in no_image.get_json()["error"]["message"]
    assert register_row(system, book["id"]).next_number == 7
    with system.db.session() as session:
        assert session.scalars(select(RegisterEntry).where(RegisterEntry.register_id == book["id"])).all() == []
    with system.db.session() as session, session.begin():
        session.scalar(select(Agency).where(Agency.slug == "pcc1")).seal_image_sha256 = seal_image
    assert api.complete("clerk.pcc1", code, "seal", {"register": book["id"]}, pin="demo").status_code == 200
    assert api.get(f"/dossiers/{code}", "citizen").get_json()["result"]["certification_number"] == 7


def test_export_to_excel_reads_back(api, system):
    book = create(api, name="15/2026", start_number=5).get_json()
    codes = [to_seal(api), to_seal(api, document_type="Giấy chứng minh nhân dân")]
    for code in codes:
        assert api.complete("clerk.pcc1", code, "seal", {"register": book["id"]}, pin="demo").status_code == 200
    resp = api.get(f"/registers/{book['id']}/export.xlsx", "clerk.pcc1")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"] and ".xlsx" in resp.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    assert [sheet["A1"].value, sheet["B1"].value] == ["Tên sổ chứng thực", "15/2026-SCTĐT/BS"]
    assert [c.value for c in sheet[2][:4]] == ["Số bắt đầu", "5/ĐT", "Số hiện tại", "6/ĐT"]
    assert sheet["A3"].value == "Ngày mở sổ" and sheet["C3"].value == "Ngày đóng sổ"
    assert sheet["B3"].is_date and sheet["B3"].value.date() == date(YEAR, 1, 1)
    assert sheet["D3"].is_date and sheet["D3"].value.date() == date(YEAR, 12, 31)
    assert sheet["A4"].value == "Cơ quan quản lý sổ chứng thực"
    assert sheet["B4"].value == "Phòng Công chứng số 1 – Sở Tư pháp tỉnh Bắc Kạn"
    assert sheet["A6"].value == "Thông tin chứng thực trong sổ"
    assert [c.value for c in sheet[7]] == ["STT", "Tên đối tượng đăng ký chứng thực", "Giấy tờ cần chứng thực",
                                          "Số chứng thực", "Ngày chứng thực"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=8)]
    assert [r[:4] for r in rows] == [[1, "Nguyễn Văn An", "Giấy khai sinh", "5/ĐT"],
                                     [2, "Nguyễn Văn An", "Giấy chứng minh nhân dân", "6/ĐT"]]
    assert all(sheet.cell(row=r, column=5).is_date for r in (8, 9))
    assert sheet.cell(row=8, column=5).number_format == "DD/MM/YYYY"
    assert all(sheet.column_dimensions[c].width >= 15 for c in "ABCDE")
    assert api.get(f"/registers/{book['id']}/export.xlsx", "clerk.pacnam").status_code == 404
    auditor = api.get(f"/registers/{book['id']}/export.xlsx", "auditor")
    assert auditor.status_code == 200


def test_empty_register_exports_its_header_block(api):
    book = create(api, name="16/2026").get_json()
    sheet = load_workbook(io.BytesIO(api.get(f"/registers/{book['id']}/export.xlsx", "clerk.pcc1").get_data())).active
    assert sheet["B2"].value == "1/ĐT" and sheet["D2"].value in (None, "")
    assert sheet.max_row == 7
