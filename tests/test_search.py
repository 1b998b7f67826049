"""One dossier search (services/queries/search.py) behind the staff page Tra cứu hồ sơ and GET /api/v1/dossiers:
the same query by the same person finds the same dossiers on both; LIKE's wildcards are plain characters; a
very long query is a clear 400."""
from __future__ import annotations

import re

import pytest

from tests.test_staff_pages import Staff

CODE_RE = re.compile(r'href="/staff/dossiers/([^"]+)"')


def _file(api, document_type: str, user: str = "citizen", agency: str = "pcc1", **fields) -> str:
    resp = api.file_dossier(user=user, agency=agency, pages=1, document_type=document_type, **fields)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["code"]


def _walk_in(api, document_type: str, email: str, name: str) -> str:
    return _file(api, document_type, user="one_stop.pcc1", email=email, applicant_name=name, delivery="email")


def _api_codes(api, user: str, q: str) -> list[str]:
    resp = api.get("/dossiers", user, query_string={"q": q})
    assert resp.status_code == 200, resp.get_json()
    return [item["code"] for item in resp.get_json()["items"]]


def _page_codes(staff: Staff, q: str) -> list[str]:
    resp = staff.get("/staff/dossiers", query_string={"q": q})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return CODE_RE.findall(resp.get_data(as_text=True))


@pytest.fixture
def filed(api):
    """Dossiers of pcc1 (an account holder's and walk-ins known by e-mail) and one of another agency."""
    return {
        "birth": _file(api, "Giấy khai sinh"),
        "diploma": _file(api, "Bằng tốt nghiệp đại học"),
        "percent": _walk_in(api, "Học bạ 100%_lớp 12", "tran@example.vn", "Trần Thị Bình"),
        "other_walk_in": _walk_in(api, "Giấy khai sinh", "le@example.vn", "Lê Văn Cường"),
        "elsewhere": _file(api, "Giấy khai sinh", agency="pacnam"),
    }


@pytest.mark.parametrize("q, expected", [
    ("khai sinh", ["other_walk_in", "birth"]),           # the document, newest first
    ("Nguyễn Văn An", ["diploma", "birth"]),             # the applicant's name (the account holder)
    ("001090012345", ["diploma", "birth"]),              # the ID number of the applicant's account
    ("Bình", ["percent"]),                               # a walk-in applicant's name as the officer typed it
    ("An khai sinh", ["birth"]),                         # every word must match, each in some field
    ("nguyễn văn an", ["diploma", "birth"]),             # letter case does not matter
    ("%", ["percent"]), ("_", ["percent"]), ("100%_", ["percent"]),  # wildcards are plain characters
    ("không có", []),
])
def test_page_and_api_find_the_same_dossiers(app, api, filed, q, expected):
    codes = [filed[name] for name in expected]
    assert _api_codes(api, "one_stop.pcc1", q) == codes
    assert _page_codes(Staff(app, "one_stop.pcc1"), q) == codes


def test_search_by_code_and_who_sees_what(app, api, filed):
    code = filed["diploma"]
    assert _api_codes(api, "one_stop.pcc1", code[-4:]) == _page_codes(Staff(app, "one_stop.pcc1"), code[-4:])
    assert code in _api_codes(api, "one_stop.pcc1", code)
    assert _api_codes(api, "auditor", "khai sinh") == [filed["elsewhere"], filed["other_walk_in"], filed["birth"]]
    assert _api_codes(api, "citizen", "khai sinh") == [filed["elsewhere"], filed["birth"]]  # only their own
    assert _api_codes(api, "one_stop.pacnam", "khai sinh") == [filed["elsewhere"]]
    assert _page_codes(Staff(app, "one_stop.pacnam"), "khai sinh") == [filed["elsewhere"]]
    assert api.get("/dossiers?q=khai", "admin").status_code == 403


def test_paging_and_total(api, filed):
    first = api.get("/dossiers?q=&page=1", "one_stop.pcc1").get_json()
    assert first["total"] == 4 and first["page_size"] == 50 and len(first["items"]) == 4
    assert api.get("/dossiers?page=2", "one_stop.pcc1").get_json()["items"] == []
    assert api.get("/dossiers?page=0", "one_stop.pcc1").status_code == 400
    assert api.get("/dossiers?status=submitted&agency=pcc1", "auditor").get_json()["total"] == 4


def test_a_very_long_query_is_a_clear_400(app, api, filed):
    q = "a" * 100_000
    resp = api.get("/dossiers", "one_stop.pcc1", query_string={"q": q})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "query_too_long"
    assert "tối đa 100 ký tự" in resp.get_json()["error"]["message"]
    page = Staff(app, "one_stop.pcc1").get("/staff/dossiers", query_string={"q": q})
    assert page.status_code == 400 and "Từ khóa tìm kiếm quá dài" in page.get_data(as_text=True)
    assert _api_codes(api, "one_stop.pcc1", "a" * 100) == []  # at the limit it searches
