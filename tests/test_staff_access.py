"""Every staff page and action refuses a user of another role (403) or of another agency (404), and every
form posted without its CSRF token is refused (400) and changes nothing."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from app.adapters.models import Document, Dossier, Event, HumanTask, Notification
from app.replay import make_pdf

from .test_staff_pages import Staff, task_id


def _setup(system, api) -> dict:
    """A pcc1 dossier received and waiting at review_sign (assigned to signer.pcc1), another at intake."""
    signing = api.file_dossier(agency="pcc1").get_json()["code"]
    assert api.complete("one_stop.pcc1", signing, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("leader.pcc1", signing, "assign", {"signer": "signer.pcc1"}).status_code == 200
    intake = api.file_dossier(agency="pcc1").get_json()["code"]
    with system.db.session() as session:
        doc = session.scalar(select(Document.id).join(Dossier).where(Dossier.code == signing))
    return {"signing": signing, "intake": intake, "doc": doc, "review": task_id(system, signing, "review_sign"),
            "intake_task": task_id(system, intake, "intake")}


def _pages(s: dict) -> list[tuple[str, str]]:
    """(method, path) of every staff page and action, for one dossier of pcc1."""
    code, review, intake = s["signing"], s["review"], s["intake_task"]
    return [
        ("GET", "/staff/"), ("GET", "/staff/queue/intake"), ("GET", "/staff/queue/sign"),
        ("GET", "/staff/queue/assign"), ("GET", "/staff/queue/seal"), ("GET", "/staff/queue/return"),
        ("GET", "/staff/queue/handle"), ("GET", "/staff/walk-in"), ("POST", "/staff/walk-in"),
        ("GET", "/staff/dossiers"), ("GET", f"/staff/dossiers/{code}"), ("GET", f"/staff/dossiers/{code}/receipt.pdf"),
        ("GET", f"/staff/dossiers/{code}/documents/{s['doc']}"),
        ("GET", f"/staff/dossiers/{code}/documents/{s['doc']}/pages/1.png"),
        ("GET", f"/staff/tasks/{review}"), ("POST", f"/staff/tasks/{review}"),
        ("GET", f"/staff/tasks/{review}/preview.png"),
        ("POST", f"/staff/tasks/{intake}/claim"), ("POST", f"/staff/tasks/{intake}/release"),
        ("GET", f"/staff/tasks/{intake}"), ("POST", f"/staff/tasks/{intake}"),
    ]


def _call(staff: Staff, method: str, path: str):
    if method == "GET":
        return staff.get(path)
    return staff.post(path, {"decision": "accept"})


def _expect(staff: Staff, s: dict, expected: dict[str, int], default: int) -> None:
    """`expected`: status by "METHOD path" (exact) or by "METHOD path*" (prefix); others get `default`."""
    wrong = {}
    for method, path in _pages(s):
        key = f"{method} {path}"
        want = expected.get(key)
        if want is None:
            want = next((code for k, code in expected.items() if k.endswith("*") and key.startswith(k[:-1])),
                        default)
        got = _call(staff, method, path).status_code
        if got != want:
            wrong[key] = (got, want)
    assert not wrong, f"{staff.username}: (got, wanted) {wrong}"


def _reading(s: dict, status: int = 200) -> dict[str, int]:
    code = s["signing"]
    return {f"GET /staff/dossiers/{code}": status, f"GET /staff/dossiers/{code}/receipt.pdf": status,
            f"GET /staff/dossiers/{code}/documents/*": status}


def _state(system) -> tuple:
    with system.db.session() as session:
        return (session.scalar(select(func.count(Event.id))), session.scalar(select(func.count(Dossier.id))),
                tuple(session.execute(select(HumanTask.id, HumanTask.assignee_id).order_by(HumanTask.id)).all()),
                session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_not(None))))


def test_another_agency_gets_404_and_changes_nothing(app, system, api):
    s = _setup(system, api)
    before = _state(system)
    other = Staff(app, "one_stop.pacnam")
    # its own queues, walk-in form and search work; everything about pcc1's dossier is unknown
    _expect(other, s, {"GET /staff/": 200, "GET /staff/queue/intake": 200, "GET /staff/queue/return": 200,
                       "GET /staff/walk-in": 200, "POST /staff/walk-in": 422, "GET /staff/dossiers": 200,
                       "GET /staff/queue/*": 403, f"GET /staff/tasks/{s['review']}/preview.png": 403},
            default=404)
    assert s["signing"] not in other.html("/staff/dossiers?q=000.17")
    signer = Staff(app, "signer.pacnam")
    assert signer.get(f"/staff/tasks/{s['review']}/preview.png").status_code == 404
    assert signer.post(f"/staff/tasks/{s['review']}", {"decision": "approve", "pin": "demo"}).status_code == 404
    assert api.get(f"/dossiers/{s['signing']}/receipt.pdf", "one_stop.pacnam").status_code == 404
    assert _state(system) == before


def test_another_role_of_the_same_agency_gets_403(app, system, api):
    s = _setup(system, api)
    before = _state(system)
    clerk = Staff(app, "clerk.pcc1")
    # colleagues of the agency may read its dossiers; the work of other roles is refused
    _expect(clerk, s, {"GET /staff/": 200, "GET /staff/queue/seal": 200, "GET /staff/dossiers": 200,
                       **_reading(s)}, default=403)
    # the leader of the agency may read the dossier but not sign the copy assigned to signer.pcc1
    leader = Staff(app, "leader.pcc1")
    assert leader.get(f"/staff/dossiers/{s['signing']}").status_code == 200
    assert leader.get(f"/staff/tasks/{s['review']}").status_code == 403
    assert leader.post(f"/staff/tasks/{s['review']}", {"decision": "approve", "pin": "demo"}).status_code == 403
    assert _state(system) == before


def test_citizens_auditors_and_visitors_are_kept_out(app, system, api, client):
    s = _setup(system, api)
    before = _state(system)
    citizen = Staff(app, "citizen")
    _expect(citizen, s, {}, default=403)
    assert citizen.get("/notifications").status_code == 200  # their own notifications
    auditor = Staff(app, "auditor")
    _expect(auditor, s, _reading(s), default=403)
    for method, path in _pages(s):
        resp = client.get(path) if method == "GET" else None
        if resp is not None:
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    assert client.get(f"/api/v1/dossiers/{s['signing']}/receipt.pdf").status_code == 401
    owner_receipt = api.get(f"/dossiers/{s['signing']}/receipt.pdf", "citizen")
    assert owner_receipt.status_code == 200 and owner_receipt.data.startswith(b"%PDF")
    assert _state(system) == before


def test_every_form_without_csrf_token_is_refused(app, system, api):
    s = _setup(system, api)
    before = _state(system)
    one_stop, signer = Staff(app, "one_stop.pcc1"), Staff(app, "signer.pcc1")
    with system.db.session() as session:
        note = session.scalar(select(Notification.id).where(Notification.read_at.is_(None)))
    posts = [
        (one_stop, f"/staff/tasks/{s['intake_task']}", {"decision": "accept"}),
        (one_stop, f"/staff/tasks/{s['intake_task']}/claim", {}),
        (one_stop, f"/staff/tasks/{s['intake_task']}/release", {}),
        (signer, f"/staff/tasks/{s['review']}", {"decision": "approve", "pin": "demo"}),
        (one_stop, "/staff/walk-in", {"citizen": "001090012345", "procedure": "2.000815", "document_type": "X",
                                      "declaration": "true", "original": make_pdf(1)}),
        (one_stop, f"/notifications/{note}/open", {}),
        (one_stop, "/notifications/read-all", {}),
    ]
    def form(data: dict) -> dict:
        return {k: (io.BytesIO(v), "a.pdf") if isinstance(v, bytes) else v for k, v in data.items()}

    for staff, path, data in posts:
        resp = staff.post(path, form(data), csrf=False, content_type="multipart/form-data")
        assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True), path
        resp = staff.post(path, {**form(data), "csrf_token": "forged"}, csrf=False,
                          content_type="multipart/form-data")
        assert resp.status_code == 400, path
    assert _state(system) == before
