"""Staff pages through the Flask test client: walk-in to return on the pages, form errors in Vietnamese,
the receipt, notifications, previews and page images."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app import clock
from app.adapters.models import Dossier, HumanTask, Notification, User
from app.replay import make_pdf

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class Staff:
    """The pages as one logged-in user (one test client, so one cookie jar, per user)."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        self.username = username
        token = self.csrf("/login")
        resp = self.client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)

    def csrf(self, path: str = "/") -> str:
        html = self.client.get(path, follow_redirects=True).get_data(as_text=True)
        return CSRF_RE.search(html).group(1)

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        return self.client.post(path, data=data, **kw)

    def html(self, path) -> str:
        resp = self.get(path)
        assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:500])
        return resp.get_data(as_text=True)


def task_id(system, code: str, name: str) -> str:
    with system.db.session() as session:
        row = session.scalar(select(HumanTask).join(Dossier).where(Dossier.code == code, HumanTask.name == name))
        assert row is not None, f"no {name} task for {code}"
        return row.id


def walk_in(staff: Staff, pages: int = 2, **fields) -> str:
    data = {"citizen": "001090012345", "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
            "payment": "counter", "delivery": "online", "declaration": "true", **fields}
    data["original"] = (io.BytesIO(make_pdf(pages)), "ban-chinh.pdf")
    resp = staff.post("/staff/walk-in", data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = staff.get(resp.headers["Location"])
    return re.search(r"hồ sơ ([0-9.A-Z]+-\d{6}-\d{4})", page.get_data(as_text=True)).group(1)


def complete(staff: Staff, system, code: str, name: str, data: dict, **kw):
    return staff.post(f"/staff/tasks/{task_id(system, code, name)}", data, **kw)


def status_of(system, code: str) -> str:
    with system.db.session() as session:
        return session.scalar(select(Dossier.status).where(Dossier.code == code))


def test_commune_dossier_from_walk_in_to_return_on_the_pages(app, system):
    one_stop = Staff(app, "one_stop.giaohieu")
    found = one_stop.html("/staff/walk-in?id_number=001090012345")
    assert "Nguyễn Văn An" in found and "17/05/1990" in found
    assert "Không có tài khoản công dân" in one_stop.html("/staff/walk-in?id_number=001090099999")
    assert "12 chữ số" in one_stop.html("/staff/walk-in?id_number=12ab")

    code = walk_in(one_stop)
    task_page = one_stop.html(f"/staff/tasks/{task_id(system, code, 'intake')}")
    assert "Tiếp nhận hồ sơ" in task_page and "Kết quả kiểm tra hồ sơ" in task_page and "Yêu cầu bổ sung" in task_page
    assert "/pages/1.png" in task_page  # the scan is shown inline

    # refusing without a reason: the form comes back with the schema's Vietnamese message, nothing changes
    resp = complete(one_stop, system, code, "intake", {"decision": "refuse"})
    assert resp.status_code == 422
    assert "Vui lòng nêu lý do khi yêu cầu bổ sung hoặc từ chối tiếp nhận." in resp.get_data(as_text=True)
    assert status_of(system, code) == "submitted"

    resp = complete(one_stop, system, code, "intake", {"decision": "accept"})
    assert resp.status_code == 302 and f"/staff/dossiers/{code}" in resp.headers["Location"]
    dossier_page = one_stop.html(resp.headers["Location"])
    assert "In phiếu tiếp nhận" in dossier_page and "Đã tiếp nhận hồ sơ" in dossier_page

    receipt = one_stop.get(f"/staff/dossiers/{code}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    text = pdf_text(receipt.data)
    for expected in (code, "Nguyễn Văn An", "Giấy khai sinh", "4.000 đồng", "GIẤY TIẾP NHẬN HỒ SƠ", "Bàn Thị Dung"):
        assert expected in text, expected

    # the justice officer was told a task waits, and sees it in "Xử lý hồ sơ" with its count
    officer = Staff(app, "justice_officer.giaohieu")
    queue = officer.html("/staff/queue/handle")
    assert code in queue and "Xử lý hồ sơ" in queue
    assert re.search(r'Xử lý hồ sơ\s*<span class="badge">1</span>', queue)
    notes = officer.html("/notifications")
    assert f"Hồ sơ {code}: có việc chờ xử lý" in notes
    assert complete(officer, system, code, "handle", {"decision": "submit", "note": "Đủ điều kiện"}).status_code == 302

    signer = Staff(app, "signer.giaohieu")
    page = signer.html(f"/staff/tasks/{task_id(system, code, 'review_sign')}")
    assert "Xem trước trang lời chứng" in page and 'type="password" name="pin"' in page
    preview = signer.get(f"/staff/tasks/{task_id(system, code, 'review_sign')}/preview.png?placement=last_page")
    assert preview.status_code == 200 and preview.data.startswith(b"\x89PNG")
    assert preview.headers["X-Page-Number"] == "2"
    # approving without the PIN, then with a wrong one: the form says so, the PIN is never echoed back
    resp = complete(signer, system, code, "review_sign", {"decision": "approve", "placement": "new_page"})
    assert resp.status_code == 422 and "Cần nhập mã PIN" in resp.get_data(as_text=True)
    resp = complete(signer, system, code, "review_sign", {"decision": "approve", "pin": "sai-pin-123"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Mã PIN không đúng." in body and "sai-pin-123" not in body
    assert complete(signer, system, code, "review_sign", {"decision": "approve", "placement": "new_page",
                                                          "pin": "demo"}).status_code == 302
    assert status_of(system, code) == "awaiting_seal"

    clerk = Staff(app, "clerk.giaohieu")
    page = clerk.html(f"/staff/tasks/{task_id(system, code, 'seal')}")
    assert "Số chứng thực sẽ cấp" in page and "1/ĐT" in page and "SCTĐT/BS" in page
    register_id = re.search(r'<option value="(\d+)"', page).group(1)
    resp = complete(clerk, system, code, "seal", {"register": register_id})
    assert resp.status_code == 422 and "mã PIN" in resp.get_data(as_text=True)
    assert complete(clerk, system, code, "seal", {"register": register_id, "pin": "demo"}).status_code == 302

    page = one_stop.html(f"/staff/tasks/{task_id(system, code, 'return')}")
    assert "4.000 đ" in page and "Đã thu lệ phí" in page and "Xem bản sao có chứng thực" in page
    resp = complete(one_stop, system, code, "return", {})
    assert resp.status_code == 422 and "Vui lòng xác nhận đã thu lệ phí." in resp.get_data(as_text=True)
    assert complete(one_stop, system, code, "return", {"fee_paid": "true"}).status_code == 302
    assert status_of(system, code) == "returned"

    page = one_stop.html(f"/staff/dossiers/{code}")
    for expected in ("Đã trả kết quả", "1/ĐT", "Lịch sử xử lý", "Hứa Văn Lâm", "Ký duyệt bản sao: Phê duyệt và ký",
                     "Xử lý hồ sơ: Trình ký", "Đủ điều kiện", "Bản sao điện tử có chứng thực", "bpmn-data"):
        assert expected in page, expected
    diagram = diagram_data(page)
    assert {"intake", "handle", "review_sign", "seal", "return", "sign_copy_task", "end_returned"} <= set(
        diagram["done"])
    assert diagram["current"] == [] and "f_start_intake" in diagram["flows"]


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def diagram_data(html: str) -> dict:
    import json

    raw = re.search(r'<script type="application/json" id="bpmn-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def test_walk_in_errors_are_shown_on_the_form_and_email_applicants_work(app, system):
    one_stop = Staff(app, "one_stop.pcc1")
    resp = one_stop.post("/staff/walk-in", {"procedure": "2.000815", "document_type": "", "copies": "1",
                                            "declaration": "true", "email": "an@example.vn"},
                         content_type="multipart/form-data")
    assert resp.status_code == 422 and "Cần nhập tên giấy tờ cần chứng thực" in resp.get_data(as_text=True)
    resp = one_stop.post("/staff/walk-in", {"procedure": "2.000815", "document_type": "Bằng", "copies": "1",
                                            "declaration": "true", "email": "khong-phai-email"},
                         content_type="multipart/form-data")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Địa chỉ email không hợp lệ." in body and 'value="khong-phai-email"' in body
    resp = one_stop.post("/staff/walk-in", {"procedure": "2.000815", "document_type": "Bằng tốt nghiệp",
                                            "copies": "1", "declaration": "true", "email": "an@example.vn",
                                            "original": (io.BytesIO(b"not a pdf"), "x.pdf")},
                         content_type="multipart/form-data")
    assert resp.status_code == 415 and "không phải là tệp PDF" in resp.get_data(as_text=True)
    code = walk_in(one_stop, citizen="", email="an@example.vn", document_type="Bằng tốt nghiệp")
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier.applicant_id is None and dossier.applicant_email == "an@example.vn"
        assert dossier.delivery == "email" and dossier.status == "submitted"

    # a walk-in applicant without an account brings the supplement to the counter
    assert complete(one_stop, system, code, "intake", {"decision": "supplement",
                                                       "reason": "Bản scan bị mờ trang 2"}).status_code == 302
    page = one_stop.html(f"/staff/dossiers/{code}")
    assert "Bản scan bị mờ trang 2" in page and "Bổ sung hồ sơ" in page
    supplement = task_id(system, code, "supplement")
    resp = one_stop.post(f"/staff/tasks/{supplement}", {"note": "Đã scan lại"}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "Thiếu tệp" in resp.get_data(as_text=True)
    resp = one_stop.post(f"/staff/tasks/{supplement}", {"note": "Đã scan lại",
                                                        "original": (io.BytesIO(make_pdf(3)), "lai.pdf")},
                         content_type="multipart/form-data")
    assert resp.status_code == 302
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier.status == "submitted" and dossier.pages == 3 and dossier.fee_amount == 5000


def test_district_assignment_return_and_rework_with_corrected_scan(app, system, api):
    code = api.file_dossier(agency="pacnam").get_json()["code"]
    one_stop = Staff(app, "one_stop.pacnam")
    assert complete(one_stop, system, code, "intake", {"decision": "accept"}).status_code == 302
    leader = Staff(app, "leader.pacnam")
    page = leader.html(f"/staff/tasks/{task_id(system, code, 'assign')}")
    assert "Lương Văn Thắng – Trưởng phòng Tư pháp" in page and "— Chọn người ký —" in page
    resp = complete(leader, system, code, "assign", {"signer": ""})
    assert resp.status_code == 422 and "Vui lòng chọn người ký chứng thực." in resp.get_data(as_text=True)
    resp = complete(leader, system, code, "assign", {"signer": "clerk.pacnam"})
    assert resp.status_code == 422 and "không phải người ký chứng thực" in resp.get_data(as_text=True)
    assert complete(leader, system, code, "assign", {"signer": "signer.pacnam"}).status_code == 302

    signer = Staff(app, "signer.pacnam")
    assert code in signer.html("/staff/queue/sign")
    resp = complete(signer, system, code, "review_sign", {"decision": "reject"})
    assert resp.status_code == 422 and "Vui lòng nêu lý do trả lại hồ sơ." in resp.get_data(as_text=True)
    assert complete(signer, system, code, "review_sign", {"decision": "reject",
                                                          "reason": "Bản scan thiếu dấu giáp lai"}).status_code == 302
    page = leader.html(f"/staff/tasks/{task_id(system, code, 'rework')}")
    assert "Người ký trả lại hồ sơ" in page and "Bản scan thiếu dấu giáp lai" in page
    assert "Phân công công việc" in page  # rework sits in the leader's queue
    resp = complete(leader, system, code, "rework", {"decision": "resubmit", "reason": "Đã scan lại",
                                                     "original": (io.BytesIO(make_pdf(4)), "da-sua.pdf")},
                    content_type="multipart/form-data")
    assert resp.status_code == 302
    with system.db.session() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        assert dossier.status == "awaiting_signature" and dossier.pages == 4
    page = signer.html(f"/staff/dossiers/{code}")
    assert "Ký duyệt bản sao: Trả lại" in page and "Bản scan thiếu dấu giáp lai" in page
    diagram = diagram_data(page)
    assert diagram["current"] == ["review_sign"] and "rework" in diagram["done"]


def test_inbox_sorting_filters_overdue_claim_and_release(app, system, api):
    start = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Vietnam
    clock.set_global(start)
    codes = []
    for n in range(3):
        clock.set_global(start + timedelta(hours=n))
        codes.append(api.file_dossier(agency="pcc1", document_type=f"Giấy tờ {n}").get_json()["code"])
    clock.set_global(start + timedelta(hours=6, minutes=30))  # 14:30: only the first is past its due time (14:00)
    one_stop = Staff(app, "one_stop.pcc1")
    page = one_stop.html("/staff/queue/intake")
    positions = [page.index(c) for c in codes]
    assert positions == sorted(positions)  # soonest due first
    rows = re.findall(r'<tr class="(overdue)?" data-dossier="([^"]+)"', page)
    assert [(bool(o), c) for o, c in rows] == [(True, codes[0]), (False, codes[1]), (False, codes[2])]
    assert "Quá hạn" in page

    overdue = one_stop.html("/staff/queue/intake?due=overdue")
    assert codes[0] in overdue and codes[1] not in overdue
    found = one_stop.html(f"/staff/queue/intake?q={codes[2][-4:]}")
    assert codes[2] in found and codes[0] not in found
    by_name = one_stop.html("/staff/queue/intake?q=nguyễn văn")
    assert all(c in by_name for c in codes)
    assert "Không có công việc nào khớp bộ lọc" in one_stop.html("/staff/queue/intake?q=khong-co-ai")
    assert one_stop.get("/staff/queue/intake?due=bogus&page=x&task=zzz").status_code == 200

    # claim, then a colleague with the same role no longer sees it; release gives it back
    with system.db.session() as session, session.begin():
        from app.adapters.models import Agency
        from app.services.administration.accounts import create_user
        pcc1 = session.scalar(select(Agency).where(Agency.slug == "pcc1"))
        create_user(session, username="one_stop2.pcc1", password="demo", full_name="Hoàng Thị Lan",
                    roles=["one_stop"], agency=pcc1)
    first = task_id(system, codes[0], "intake")
    resp = one_stop.post(f"/staff/tasks/{first}/claim", {"next": "/staff/queue/intake"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/staff/queue/intake"
    colleague = Staff(app, "one_stop2.pcc1")
    assert codes[0] not in colleague.html("/staff/queue/intake")
    assert colleague.get(f"/staff/tasks/{first}").status_code == 403
    resp = colleague.post(f"/staff/tasks/{first}/claim", {"next": "/staff/queue/intake"})
    assert resp.status_code == 302
    assert "đã được người khác nhận" in colleague.html("/staff/queue/intake")
    mine = one_stop.html("/staff/queue/intake")
    assert "Trả lại việc" in mine and "<strong>Bạn</strong>" in mine
    assert one_stop.post(f"/staff/tasks/{first}/release", {"next": "/staff/"}).status_code == 302
    assert codes[0] in colleague.html("/staff/queue/intake")


def test_notifications_unread_count_open_and_read_all(app, system, api):
    code = api.file_dossier(agency="pcc1").get_json()["code"]
    one_stop = Staff(app, "one_stop.pcc1")
    home = one_stop.html("/staff/")
    assert re.search(r'Thông báo <span class="badge">1</span>', home)
    with system.db.session() as session:
        note_id = session.scalar(select(Notification.id).join(User, Notification.user_id == User.id)
                                 .where(User.username == "one_stop.pcc1"))
    resp = one_stop.post(f"/notifications/{note_id}/open")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/staff/dossiers/{code}"
    assert 'Thông báo <span class="badge">' not in one_stop.html("/staff/")
    other = Staff(app, "leader.pcc1")
    assert other.post(f"/notifications/{note_id}/open").status_code == 404
    api.file_dossier(agency="pcc1")
    assert one_stop.post("/notifications/read-all").status_code == 302
    assert "Đã đánh dấu 1 thông báo là đã đọc." in one_stop.html("/notifications")


def test_document_pages_and_search(app, system, api):
    code = api.file_dossier(agency="pcc1", pages=3).get_json()["code"]
    leader = Staff(app, "leader.pcc1")
    with system.db.session() as session:
        doc_id = session.scalar(select(Dossier).where(Dossier.code == code)).id
        from app.adapters.models import Document
        doc_id = session.scalar(select(Document.id).where(Document.dossier_id == doc_id))
    png = leader.get(f"/staff/dossiers/{code}/documents/{doc_id}/pages/3.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert leader.get(f"/staff/dossiers/{code}/documents/{doc_id}/pages/4.png").status_code == 404
    pdf = leader.get(f"/staff/dossiers/{code}/documents/{doc_id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and "inline" in pdf.headers["Content-Disposition"]
    page = leader.html(f"/staff/dossiers/{code}?p=2")
    assert re.search(r"/documents/\d+/pages/2\.png", page) and "Trang 2/3" in page
    assert code in leader.html("/staff/dossiers?q=Nguyễn")
    assert code in leader.html("/staff/dossiers?status=submitted")
    assert "Không tìm thấy hồ sơ nào" in leader.html("/staff/dossiers?status=returned")
    # the receipt exists only once the dossier is received
    assert leader.get(f"/staff/dossiers/{code}/receipt.pdf").status_code == 409
    assert api.get(f"/dossiers/{code}/receipt.pdf", "citizen").status_code == 409


@pytest.mark.parametrize("placement", ["new_page", "last_page"])
def test_attestation_preview_draws_the_signer_and_the_seal_area(system, placement):
    from app.adapters.preview import attestation_page_pdf

    with system.db.session() as session:
        signer = session.scalar(select(User).where(User.username == "signer.pcc1"))
        signature = system.files.get(signer.signature_image_sha256)
    pdf, number = attestation_page_pdf(make_pdf(2), placement, full_name=signer.full_name, title=signer.title,
                                       signature_image=signature, seal_image=None, register_name="01/2026",
                                       moment=datetime(2026, 5, 4, 3, 15, tzinfo=timezone.utc),
                                       max_bytes=30 << 20)
    assert number == (3 if placement == "new_page" else 2)
    text = pdf_text(pdf)
    for expected in ("Chứng thực bản sao đúng với bản chính", "Lý Thị Thu Trang", "Công chứng viên",
                     "Ngày ký: 04/05/2026 10:15", "Quyển số: 01/2026-SCTĐT/BS"):
        assert expected in text, expected
