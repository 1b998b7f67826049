"""Statistics per agency and period (API, page with its SVG chart, Excel export), on dossiers driven through the
real steps at set moments of a working week (Mon 16 – Tue 17 November 2026, Vietnam time)."""
from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from app import clock
from app.domain.calendar import VN_TZ
from tests.test_api_dossiers import error_code
from tests.test_registers_pages import page_login

MON, TUE = "2026-11-16", "2026-11-17"


def at(day: str, hhmm: str) -> None:
    clock.set_global(datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=VN_TZ))


def register_of(api, slug):
    return api.get("/registers?usable=true", f"clerk.{slug}").get_json()[0]["id"]


def returned(api, slug, filed, done, pages=2):
    at(*filed)
    code = api.file_dossier(agency=slug, pages=pages).get_json()["code"]
    assert api.complete(f"one_stop.{slug}", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete(f"leader.{slug}", code, "assign", {"signer": f"signer.{slug}"}).status_code == 200
    assert api.complete(f"signer.{slug}", code, "review_sign", {"decision": "approve"}, pin="demo").status_code == 200
    at(*done)
    assert api.complete(f"clerk.{slug}", code, "seal", {"register": register_of(api, slug)},
                        pin="demo").status_code == 200
    resp = api.complete(f"one_stop.{slug}", code, "return", {"fee_paid": True})
    assert resp.get_json()["dossier"]["status"] == "returned", resp.get_json()
    return code


@pytest.fixture
def week(api):
    """pcc1: two returned (one on time, one late), one refused, one cancelled, one in progress; pacnam: one."""
    returned(api, "pcc1", (MON, "09:00"), (MON, "14:00"))            # due 15:00: on time, 3.0 working hours
    returned(api, "pcc1", (MON, "09:30"), (TUE, "09:00"), pages=3)   # due 15:30: late, 7.0 working hours
    at(MON, "10:00")
    refused = api.file_dossier().get_json()["code"]
    assert api.complete("one_stop.pcc1", refused, "intake", {"decision": "refuse", "reason": "Sai thủ tục"}) \
        .status_code == 200
    cancelled = api.file_dossier().get_json()["code"]
    api.complete("one_stop.pcc1", cancelled, "intake", {"decision": "accept"})
    api.complete("leader.pcc1", cancelled, "assign", {"signer": "signer.pcc1"})
    api.complete("signer.pcc1", cancelled, "review_sign", {"decision": "reject", "reason": "Bản scan mờ"})
    at(TUE, "10:00")
    assert api.complete("leader.pcc1", cancelled, "rework", {"decision": "cancel", "reason": "Công dân rút"}) \
        .get_json()["dossier"]["status"] == "cancelled"
    at(MON, "11:00")
    pending = api.file_dossier().get_json()["code"]
    api.complete("one_stop.pcc1", pending, "intake", {"decision": "accept"})
    returned(api, "pacnam", (MON, "08:00"), (MON, "10:00"), pages=1)  # 2.0 working hours
    at(TUE, "16:00")
    yield
    clock.set_global(None)


def test_summary_per_agency_and_period(api, week):
    body = api.get(f"/reports/summary?from={MON}&to={TUE}", "admin").get_json()
    rows = {r["agency"]: r for r in body["agencies"]}
    assert set(rows) == {"000.17.01.H03", "000.00.38.H03", "000.38.05.H03"}
    pcc1 = rows["000.17.01.H03"]
    assert {k: pcc1[k] for k in ("filed", "received", "returned", "on_time", "late", "refused", "cancelled")} == \
        {"filed": 5, "received": 4, "returned": 2, "on_time": 1, "late": 1, "refused": 1, "cancelled": 1}
    assert pcc1["average_hours"] == 5.0 and pcc1["fees_vnd"] == 4000 + 5000
    pacnam = rows["000.00.38.H03"]
    assert (pacnam["returned"], pacnam["on_time"], pacnam["average_hours"], pacnam["fees_vnd"]) == (1, 1, 2.0, 2000)
    assert rows["000.38.05.H03"]["filed"] == 0 and rows["000.38.05.H03"]["average_hours"] is None
    total = body["total"]
    assert (total["filed"], total["returned"], total["fees_vnd"]) == (6, 3, 11000)
    assert total["average_hours"] == 4.0  # (3 + 7 + 2) / 3
    assert body["bucket"] == "day" and [b["label"] for b in body["series"]] == ["16/11", "17/11"]
    assert [(b["received"], b["on_time"], b["late"]) for b in body["series"]] == [(5, 2, 0), (0, 0, 1)]

    monday = api.get(f"/reports/summary?from={MON}&to={MON}&agency=pcc1", "admin").get_json()
    assert [r["agency"] for r in monday["agencies"]] == ["000.17.01.H03"]
    row = monday["agencies"][0]
    assert (row["returned"], row["late"], row["cancelled"], row["refused"]) == (1, 0, 0, 1)

    who_sees_which_report(api)
    excel_export_reads_back(api)


def who_sees_which_report(api):
    own = api.get(f"/reports/summary?from={MON}&to={TUE}", "leader.pcc1").get_json()
    assert [r["agency"] for r in own["agencies"]] == ["000.17.01.H03"]
    other = api.get(f"/reports/summary?from={MON}&to={TUE}&agency=pacnam", "leader.pcc1")
    assert other.status_code == 422 and error_code(other) == "unknown_agency"
    assert api.get("/reports/summary", "auditor").status_code == 200
    assert api.get("/reports/summary", "clerk.pcc1").status_code == 403
    assert api.get("/reports/summary", "citizen").status_code == 403
    assert error_code(api.get("/reports/summary?from=23/11/2026", "admin")) == "invalid_field"
    assert error_code(api.get(f"/reports/summary?from={TUE}&to={MON}", "admin")) == "invalid_period"
    assert error_code(api.get("/reports/summary?from=2020-01-01&to=2026-01-01", "admin")) == "invalid_period"


def excel_export_reads_back(api):
    resp = api.get(f"/reports/summary.xlsx?from={MON}&to={TUE}", "admin")
    assert resp.status_code == 200
    assert 'filename="thong-ke-20261116-20261117.xlsx"' in resp.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    assert sheet["A1"].value.startswith("BÁO CÁO THỐNG KÊ")
    assert sheet["A2"].value == "Từ ngày 16/11/2026 đến ngày 17/11/2026"
    assert sheet["B3"].is_date
    headers = [c.value for c in sheet[5]]
    assert headers[:5] == ["STT", "Cơ quan", "Mã cơ quan", "Đã nộp", "Đã tiếp nhận"]
    assert headers[-2:] == ["Thời gian xử lý trung bình (giờ làm việc)", "Lệ phí đã thu (đồng)"]
    rows = {r[2]: r for r in ([c.value for c in row] for row in sheet.iter_rows(min_row=6)) if r[2]}
    pcc1 = rows["000.17.01.H03"]
    assert pcc1[3:12] == [5, 4, 2, 1, 1, 1, 1, 5.0, 9000]
    last = [c.value for c in sheet[sheet.max_row]]
    assert last[1] == "Tổng cộng" and last[-1] == 11000
    assert sheet.cell(row=6, column=12).number_format == "#,##0"
    assert sheet.column_dimensions["B"].width >= 40


def test_report_pages_with_chart_and_export_link(client, week):
    page_login(client, "admin")
    assert "Báo cáo thống kê" in client.get("/", follow_redirects=True).get_data(as_text=True)
    html = client.get(f"/reports/?from={MON}&to={TUE}").get_data(as_text=True)
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert "Trả đúng hạn" in chart and "<script" not in chart and "Tổng cộng" in html
    assert "Từ ngày 16/11/2026 đến ngày 17/11/2026" in html
    assert re.search(r'data-col="fees_vnd">9\.000<', html) and re.search(r'data-col="average_hours">5\.0<', html)
    link = re.search(r'href="(/reports/summary\.xlsx\?[^"]+)"', html).group(1).replace("&amp;", "&")
    export = client.get(link)
    assert export.status_code == 200 and export.get_data()[:2] == b"PK"
    bad = client.get("/reports/?from=hom-qua")
    assert bad.status_code == 422 and "Từ ngày phải là ngày dạng YYYY-MM-DD" in bad.get_data(as_text=True)

    leader = client.application.test_client()  # a leader sees only the own agency
    page_login(leader, "leader.pacnam")
    html = leader.get(f"/reports/?from={MON}&to={TUE}").get_data(as_text=True)
    assert "Ủy ban nhân dân huyện Pác Nặm" in html and "Phòng Công chứng số 1" not in html
    assert leader.get("/reports/?agency=pcc1").status_code == 422
