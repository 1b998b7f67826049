"""Appointments: free slots, booking rules, the race for the last place, moving with a reason (the citizen is told),
turning an appointment into a dossier, reminders the day before — through the JSON API and the service layer."""
from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app import clock
from app.errors import Conflict
from app.adapters.models import Agency, Appointment, AppointmentSlot, Dossier, Notification, OutboxMessage, User
from app.replay import make_pdf
from app.services import appointments
from app.domain.calendar import VN_TZ

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=VN_TZ)  # a Tuesday, mid-morning
TOMORROW = "2026-03-11"


@pytest.fixture(autouse=True)
def tuesday_morning(system):
    clock.set_global(NOW)
    yield
    clock.set_global(None)


def error_code(resp) -> str:
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]["code"]


def count(system, model, *where) -> int:
    with system.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def set_capacity(system, slug: str, capacity: int) -> None:
    with system.db.session() as session, session.begin():
        session.execute(update(Agency).where(Agency.slug == slug).values(appointment_capacity=capacity))


def book(api, user="citizen", **fields):
    body = {"agency": "pacnam", "procedure": "2.000815", "document_type": "Giấy khai sinh", "date": TOMORROW,
            "slot": "09:00", **fields}
    return api.post("/appointments", user, json=body)


def test_slots_offer_working_hours_and_hide_past_and_full(api, system):
    today = api.get("/agencies/pacnam/slots?date=2026-03-10").get_json()
    assert [s["start"] for s in today] == ["10:00", "11:00", "13:00", "14:00", "15:00", "16:00"]
    tomorrow = api.get(f"/agencies/pacnam/slots?date={TOMORROW}").get_json()
    assert [s["start"] for s in tomorrow] == list(appointments.SLOT_STARTS)
    assert tomorrow[0] == {"start": "08:00", "capacity": 3, "free": 3}
    assert api.get("/agencies/pacnam/slots?date=2026-03-14").get_json() == []  # Saturday
    assert api.get("/agencies/pacnam/slots?date=2026-04-30").get_json() == []  # Reunification Day
    set_capacity(system, "pacnam", 1)
    assert book(api, slot="08:00").status_code == 201
    after = api.get(f"/agencies/pacnam/slots?date={TOMORROW}").get_json()
    assert "08:00" not in [s["start"] for s in after] and after[0] == {"start": "09:00", "capacity": 1, "free": 1}
    assert error_code(api.get("/agencies/pacnam/slots")) == "missing_date"
    assert error_code(api.get("/agencies/pacnam/slots?date=10/03/2026")) == "invalid_date"
    assert error_code(api.get("/agencies/nowhere/slots?date=2026-03-10")) == "unknown_agency"


def test_book_returns_code_and_tells_the_citizen(api, system):
    resp = book(api)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["code"] == "CTĐT-100326-0001"
    assert (body["date"], body["slot"], body["status"]) == (TOMORROW, "09:00", "booked")
    assert book(api, slot="10:00").get_json()["code"] == "CTĐT-100326-0002"
    with system.db.session() as session:
        sms = session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == "CTĐT-100326-0001:booked:sms"))
        assert sms.recipient == "0912345678" and "CTĐT-100326-0001" in sms.body and "9h00 ngày 11/03/2026" in sms.body
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedup_key == "CTĐT-100326-0001:booked:email")) == 1
        citizen = session.scalar(select(User).where(User.username == "citizen"))
        messages = session.scalars(select(Notification.message).where(Notification.user_id == citizen.id)).all()
        assert any("CTĐT-100326-0001" in m for m in messages)
    mine = api.get("/appointments", "citizen").get_json()
    assert [a["code"] for a in mine] == ["CTĐT-100326-0001", "CTĐT-100326-0002"] and "citizen" not in mine[0]


@pytest.mark.parametrize("fields, status, code", [
    ({"date": "2026-03-14"}, 422, "not_working_day"),
    ({"date": "2026-04-30"}, 422, "not_working_day"),
    ({"date": "2026-03-10", "slot": "08:00"}, 422, "slot_past"),
    ({"date": "2026-03-09"}, 422, "slot_past"),
    ({"date": "2026-09-10"}, 422, "too_far"),
    ({"date": "11/03/2026"}, 422, "invalid_date"),
    ({"slot": "12:00"}, 422, "invalid_slot"),
    ({"slot": "9h"}, 422, "invalid_slot"),
    ({"agency": "giaohieu", "procedure": "2.000843"}, 422, "procedure_not_offered"),
    ({"procedure": "9.999"}, 422, "unknown_procedure"),
    ({"agency": "nowhere"}, 422, "unknown_agency"),
    ({"document_type": "  "}, 422, "invalid_field"),
])
def test_bad_bookings_are_refused_and_store_nothing(api, system, fields, status, code):
    resp = book(api, **fields)
    assert resp.status_code == status and error_code(resp) == code
    assert resp.get_json()["error"]["message"]
    assert count(system, Appointment) == 0 and count(system, OutboxMessage) == 0
    assert count(system, AppointmentSlot, AppointmentSlot.booked > 0) == 0


def test_only_citizens_book_and_bodies_must_be_json(api):
    assert book(api, user="one_stop.pacnam").status_code == 403
    assert api.post("/appointments", "citizen", data="x").status_code == 400
    assert api.post("/appointments", json={}).status_code == 401


def test_full_slot_is_409_and_idempotency_key_books_once(api, system):
    set_capacity(system, "pacnam", 1)
    first = api.post("/appointments", "citizen", json={"agency": "pacnam", "procedure": "2.000815",
                                                        "document_type": "Học bạ", "date": TOMORROW, "slot": "08:00"},
                     headers={"Idempotency-Key": "booking-1"})
    again = api.post("/appointments", "citizen", json={"agency": "pacnam", "procedure": "2.000815",
                                                        "document_type": "Học bạ", "date": TOMORROW, "slot": "08:00"},
                     headers={"Idempotency-Key": "booking-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["code"] == again.get_json()["code"]
    full = book(api, slot="08:00")
    assert full.status_code == 409 and error_code(full) == "slot_full"
    assert "đã đủ lượt hẹn" in full.get_json()["error"]["message"]
    assert count(system, Appointment) == 1


def test_racing_for_the_last_place_gives_one_booking(system):
    """Several citizens press "Đặt lịch hẹn" for the last places at the same moment: capacity is never exceeded."""
    set_capacity(system, "pacnam", 2)
    with system.db.session() as session:
        citizen = session.scalar(select(User).where(User.username == "citizen"))
        _ = citizen.roles
    results: list[str] = []
    barrier = threading.Barrier(6)

    def attempt():
        barrier.wait()
        try:
            appointments.book(system, citizen, {"agency": "pacnam", "procedure": "2.000815", "document_type": "Học bạ",
                                                "date": TOMORROW, "slot": "14:00"})
            results.append("201")
        except Conflict as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["201", "201", "slot_full", "slot_full", "slot_full", "slot_full"]
    assert count(system, Appointment) == 2
    with system.db.session() as session:
        assert session.scalar(select(AppointmentSlot.booked).where(AppointmentSlot.start == "14:00")) == 2
        codes = session.scalars(select(Appointment.code)).all()
    assert sorted(codes) == ["CTĐT-100326-0001", "CTĐT-100326-0002"]


def test_staff_move_with_reason_and_the_citizen_is_told(api, system):
    set_capacity(system, "pacnam", 1)
    code = book(api, slot="09:00").get_json()["code"]
    book(api, slot="10:00")
    listed = api.get("/appointments?status=active", "one_stop.pacnam").get_json()
    assert [a["code"] for a in listed][0] == code and listed[0]["citizen"]["id_number"] == "001090012345"
    assert api.get("/appointments", "one_stop.pcc1").get_json() == []
    assert [a["code"] for a in api.get("/appointments?q=Văn An&date=2026-03-11", "one_stop.pacnam").get_json()] \
        == [code, listed[1]["code"]]
    assert api.get("/appointments?q=001090012345&status=moved", "one_stop.pacnam").get_json() == []
    assert api.get(f"/appointments/{code}", "one_stop.pcc1").status_code == 404
    move = {"date": TOMORROW, "slot": "13:00", "reason": "Cán bộ tư pháp đi công tác đột xuất"}
    assert api.post(f"/appointments/{code}/move", "citizen", json=move).status_code == 403
    assert api.post(f"/appointments/{code}/move", "signer.pacnam", json=move).status_code == 404
    assert error_code(api.post(f"/appointments/{code}/move", "one_stop.pacnam", json={**move, "reason": ""})) \
        == "invalid_field"
    assert error_code(api.post(f"/appointments/{code}/move", "one_stop.pacnam", json={**move, "slot": "10:00"})) \
        == "slot_full"
    assert error_code(api.post(f"/appointments/{code}/move", "one_stop.pacnam", json={**move, "slot": "09:00"})) \
        == "same_time"
    assert error_code(api.post(f"/appointments/{code}/move", "one_stop.pacnam",
                               json={**move, "date": "2026-03-15"})) == "not_working_day"
    resp = api.post(f"/appointments/{code}/move", "one_stop.pacnam", json=move)
    assert resp.status_code == 200, resp.get_json()
    moved = resp.get_json()
    assert (moved["date"], moved["slot"], moved["status"]) == (TOMORROW, "13:00", "moved")
    assert (moved["booked_date"], moved["booked_slot"]) == (TOMORROW, "09:00")
    assert moved["move_reason"] == move["reason"]
    with system.db.session() as session:
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms",
                                                          OutboxMessage.dedup_key.like(f"{code}:moved:%"))).all()
        assert len(sms) == 1 and "13h00 ngày 11/03/2026" in sms[0].body and move["reason"] in sms[0].body
        freed = session.scalar(select(AppointmentSlot.booked).where(AppointmentSlot.start == "09:00"))
        assert freed == 0
    assert book(api, slot="09:00").status_code == 201  # the old place is free again
    citizen_view = api.get(f"/appointments/{code}", "citizen").get_json()
    assert citizen_view["move_reason"] == move["reason"] and citizen_view["slot"] == "13:00"


def test_turn_an_appointment_into_a_dossier(api, system):
    code = book(api, agency="pacnam").get_json()["code"]
    url = f"/appointments/{code}/dossier"

    def form(**extra):
        return {"original": (io.BytesIO(make_pdf(3)), "scan.pdf"), "copies": "2", "declaration": "true", **extra}

    assert api.post(url, "leader.pacnam", data=form()).status_code == 403
    assert api.post(url, "one_stop.pcc1", data=form()).status_code == 404
    assert error_code(api.post(url, "one_stop.pacnam", data=form(declaration=""))) == "declaration_required"
    assert api.post(url, "one_stop.pacnam",
                    data={**form(), "original": (io.BytesIO(b"not a pdf"), "x.pdf")}).status_code == 415
    assert count(system, Dossier) == 0
    resp = api.post(url, "one_stop.pacnam", data=form())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "submitted" and body["fee"] == {"pages": 3, "copies": 2, "amount_vnd": 10000}
    again = api.post(url, "one_stop.pacnam", data=form())
    assert again.status_code == 200 and again.get_json()["code"] == body["code"]
    assert count(system, Dossier) == 1
    detail = api.get(f"/dossiers/{body['code']}", "citizen").get_json()
    assert detail["applicant"]["username"] == "citizen" and detail["document_type"] == "Giấy khai sinh"
    assert [t["name"] for t in detail["tasks"]] == ["intake"]
    view = api.get(f"/appointments/{code}", "citizen").get_json()
    assert view["status"] == "converted" and view["dossier"] == body["code"]
    move = {"date": TOMORROW, "slot": "13:00", "reason": "x"}
    assert error_code(api.post(f"/appointments/{code}/move", "one_stop.pacnam", json=move)) == \
        "appointment_not_active"


def test_an_appointment_turned_into_a_dossier_sent_by_post_needs_the_address(api, system):
    code = book(api, agency="pacnam").get_json()["code"]
    url = f"/appointments/{code}/dossier"

    def form(**extra):
        return {"original": (io.BytesIO(make_pdf(1)), "scan.pdf"), "declaration": "true", "delivery": "post",
                **extra}

    assert error_code(api.post(url, "one_stop.pacnam", data=form())) == "invalid_field"
    assert count(system, Dossier) == 0
    address = "Thôn Nà Coóc, xã Bằng Thành, huyện Pác Nặm, tỉnh Bắc Kạn"
    resp = api.post(url, "one_stop.pacnam", data=form(postal_address=address))
    assert resp.status_code == 201, resp.get_json()
    detail = api.get(f"/dossiers/{resp.get_json()['code']}", "citizen").get_json()
    assert detail["delivery"] == "post" and detail["postal_address"] == address


def test_citizen_cancels_and_the_place_is_freed(api, system):
    set_capacity(system, "pcc1", 1)
    code = book(api, agency="pcc1", slot="15:00").get_json()["code"]
    assert api.post(f"/appointments/{code}/cancel", "one_stop.pacnam").status_code == 404
    resp = api.post(f"/appointments/{code}/cancel", "citizen")
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert api.post(f"/appointments/{code}/cancel", "citizen").status_code == 409
    assert book(api, agency="pcc1", slot="15:00").status_code == 201
    assert [a["status"] for a in api.get("/appointments?status=cancelled", "citizen").get_json()] == ["cancelled"]
    assert error_code(api.get("/appointments?status=weird", "citizen")) == "invalid_status"
    assert api.get("/appointments", "admin").status_code == 403


def test_reminders_the_day_before_are_sent_once(api, system):
    tomorrow_code = book(api, slot="08:00").get_json()["code"]
    later_code = book(api, date="2026-03-12", slot="08:00").get_json()["code"]
    evening = NOW.replace(hour=18)
    assert appointments.send_reminders(system, evening) == 1
    assert appointments.send_reminders(system, evening) == 0
    with system.db.session() as session:
        keys = set(session.scalars(select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.like("%reminder%"))))
    assert keys == {f"{tomorrow_code}:reminder:2026-03-11:sms", f"{tomorrow_code}:reminder:2026-03-11:email"}
    move = {"date": "2026-03-13", "slot": "08:00", "reason": "Đổi lịch"}
    assert api.post(f"/appointments/{later_code}/move", "one_stop.pacnam", json=move).status_code == 200
    assert appointments.send_reminders(system, evening + timedelta(days=1)) == 0  # moved away from the 12th
    assert appointments.send_reminders(system, evening + timedelta(days=2)) == 1


def test_pure_rules():
    assert appointments.slot_label("08:00") == "8h00" and appointments.slot_label("16:00") == "16h00"
    calendar = type("Cal", (), {"is_working_day": staticmethod(lambda d: d.weekday() < 5)})()
    assert appointments.booking_problem(calendar, NOW.date(), "10:00", NOW) is None
    assert appointments.booking_problem(calendar, NOW.date(), "09:00", NOW)[0] == "slot_past"
    assert appointments.booking_problem(calendar, NOW.date() + timedelta(days=4), "10:00", NOW)[0] == \
        "not_working_day"
    days = appointments.next_working_days(calendar, NOW, 3)
    assert [d.isoformat() for d in days] == ["2026-03-10", "2026-03-11", "2026-03-12"]
