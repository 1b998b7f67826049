"""Who may open which inbox queue, work which task on the staff pages, keep which registers; what a task asks for
besides its form; posted form strings typed by the task's schema. Plain rules: no app, no database."""
from __future__ import annotations

from app.adapters.models import Agency, Dossier, HumanTask, User, UserRole
from app.domain.access import (
    QUEUE_ROLES,
    inbox_refusal,
    keeps_registers_of,
    may_see_on_staff_pages,
    may_work_on_staff_pages,
    oversees_every_agency,
)
from app.domain.task_forms import asks_postal_tracking, needs_pin, posted_values, takes_scan

PCC1 = Agency(id=1, code="000.00.38.H03", slug="pcc1", name="Phòng Công chứng số 1", level="province")


def person(user_id: int, *roles: str, agency: Agency | None = PCC1) -> User:
    user = User(id=user_id, username=f"u{user_id}", full_name="Nguyễn Văn An", agency=agency,
                agency_id=agency.id if agency else None)
    user.role_rows = [UserRole(role=r) for r in roles]
    return user


def task(role: str, assignee_id: int | None = None) -> HumanTask:
    return HumanTask(id="t1", name="supplement" if role == "citizen" else "intake", role=role, agency_id=1,
                     assignee_id=assignee_id)


def test_queues_open_to_the_roles_that_work_them():
    one_stop, clerk = person(1, "one_stop"), person(2, "clerk")
    assert inbox_refusal(one_stop) is None and inbox_refusal(one_stop, "intake") is None
    assert inbox_refusal(one_stop, "return") is None
    assert inbox_refusal(one_stop, "seal") == "Chức năng này dành cho vai trò khác."
    assert inbox_refusal(clerk, "seal") is None
    assert set(QUEUE_ROLES) == {"intake", "assign", "handle", "sign", "seal", "return"}
    # staff roles without an agency have no inbox; an auditor has none either
    assert inbox_refusal(person(3, "one_stop", agency=None)) == \
        "Tài khoản chưa thuộc cơ quan nào nên không có công việc."
    assert inbox_refusal(person(4, "auditor")) is not None


def test_a_citizen_with_an_account_supplements_on_the_portal_not_at_the_counter():
    one_stop = person(1, "one_stop")
    walk_in = Dossier(agency_id=1, applicant_id=None)
    with_account = Dossier(agency_id=1, applicant_id=99)
    assert may_work_on_staff_pages(one_stop, walk_in, task("citizen")) is None
    assert may_work_on_staff_pages(one_stop, with_account, task("citizen")) == \
        "Chỉ người nộp hồ sơ mới bổ sung được hồ sơ này."
    # even when the applicant is on the staff, their own supplement goes through the portal
    assert may_work_on_staff_pages(person(99, "one_stop"), with_account, task("citizen")) == \
        "Người yêu cầu có tài khoản tự bổ sung hồ sơ trên cổng dịch vụ công."
    # the other rules still hold: another's task, another role
    assert may_work_on_staff_pages(one_stop, walk_in, task("one_stop", assignee_id=7)) == \
        "Công việc này đã được giao cho người khác."
    assert may_work_on_staff_pages(person(2, "clerk"), walk_in, task("one_stop")) is not None
    assert may_work_on_staff_pages(one_stop, walk_in, task("one_stop", assignee_id=1)) is None


def test_who_sees_what_across_agencies():
    assert oversees_every_agency(person(1, "auditor")) and oversees_every_agency(person(2, "admin"))
    assert not oversees_every_agency(person(3, "leader"))
    assert may_see_on_staff_pages(person(4, "signer"), 1) and not may_see_on_staff_pages(person(4, "signer"), 2)
    assert may_see_on_staff_pages(person(5, "auditor", agency=None), 2)
    assert not may_see_on_staff_pages(person(6, "citizen", agency=None), 1)
    assert keeps_registers_of(person(7, "clerk"), PCC1.code)
    assert not keeps_registers_of(person(7, "clerk"), "000.00.01.H03")
    assert not keeps_registers_of(person(8, "signer"), PCC1.code)
    assert not keeps_registers_of(person(9, "clerk", agency=None), PCC1.code)


def test_what_a_task_asks_besides_its_form():
    assert needs_pin("review_sign") and needs_pin("seal") and not needs_pin("intake") and not needs_pin("return")
    assert takes_scan("supplement") and takes_scan("rework") and not takes_scan("review_sign")
    assert asks_postal_tracking("return", "post")
    assert not asks_postal_tracking("return", "online") and not asks_postal_tracking("intake", "post")


def test_posted_strings_are_typed_by_the_schema():
    assert posted_values("return", {"fee_paid": "true", "postal_tracking": "EB123456789VN"}) == \
        {"fee_paid": True, "postal_tracking": "EB123456789VN"}
    assert posted_values("return", {"fee_paid": "off", "postal_tracking": "   "}) == {"fee_paid": False}
    assert posted_values("return", {"fee_paid": "maybe"}) == {"fee_paid": "maybe"}  # left for validation to name
    assert posted_values("seal", {"register": " 12 "}) == {"register": 12}
    assert posted_values("seal", {"register": "twelve"}) == {"register": "twelve"}
    assert posted_values("seal", {"register": "", "unknown": "x"}) == {}
