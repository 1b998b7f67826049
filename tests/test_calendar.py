"""Working-time calendar: working hours, the 15:00 rule, holidays, make-up days, time zones."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

import holidays
import pytest

from app.domain import calendar as cal
from app.domain.calendar import VN_TZ, WorkingCalendar, default_calendar


def vn(y, m, d, hh=0, mm=0, ss=0, us=0):
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=VN_TZ)


C = default_calendar()

# Reference weeks without holidays: Mon 3 Mar 2025 .. Fri 7 Mar 2025, Mon 10 Mar 2025.
MON, FRI, NEXT_MON = date(2025, 3, 3), date(2025, 3, 7), date(2025, 3, 10)


def test_reference_dates():
    assert MON.weekday() == 0 and FRI.weekday() == 4 and NEXT_MON.weekday() == 0
    for d in (MON, FRI, NEXT_MON):
        assert C.is_working_day(d)
    assert not C.is_working_day(date(2025, 3, 8)) and not C.is_working_day(date(2025, 3, 9))


# -- holidays package facts this module relies on (holidays v0.109) ----------------------------

def test_package_tet_days():
    vn_h = holidays.country_holidays("VN", years=[2026, 2027])
    tet_2026 = [date(2026, 2, d) for d in range(16, 21)]
    tet_2027 = [date(2027, 2, d) for d in range(4, 11)]
    for d in tet_2026 + tet_2027:
        assert d in vn_h, d
        assert not C.is_working_day(d)
    # Nothing else around Tet is a holiday.
    assert date(2026, 2, 13) not in vn_h and date(2026, 2, 23) not in vn_h
    assert date(2027, 2, 3) not in vn_h and date(2027, 2, 11) not in vn_h
    assert C.is_working_day(date(2026, 2, 13)) and C.is_working_day(date(2026, 2, 23))


def test_package_hung_kings_and_observed_days():
    assert not C.is_working_day(date(2025, 4, 7))   # Hung Kings 2025 (Mon)
    assert not C.is_working_day(date(2026, 4, 27))  # Hung Kings 2026 is Sun 26 Apr -> observed Mon
    assert not C.is_working_day(date(2027, 5, 3))   # Labour Day 2027 is Sat -> observed Mon
    assert not C.is_working_day(date(2025, 5, 2))   # swap day off for Sat 26 Apr 2025
    assert not C.is_working_day(date(2026, 11, 24))  # Vietnam Cultural Day (from 2026)


def test_package_swap_saturday_is_a_working_day():
    # The package records 2 May 2025 as "Day off (substituted from 26/04/2025)".
    assert date(2025, 4, 26) in cal.package_makeup_days(2025)
    assert C.is_working_day(date(2025, 4, 26))
    # Received Fri 25 Apr after 15:00 -> counted from Sat 26 Apr 07:30.
    assert C.due_at(vn(2025, 4, 25, 15, 30)) == vn(2025, 4, 26, 11, 30)
    # Received Tue 29 Apr after 15:00 -> 30 Apr, 1 May, 2 May off, then the weekend -> Mon 5 May.
    assert C.due_at(vn(2025, 4, 29, 15, 30)) == vn(2025, 5, 5, 11, 30)
    # An extra day off overrides the package's make-up Saturday.
    c = WorkingCalendar(extra_days_off=frozenset({date(2025, 4, 26)}))
    assert not c.is_working_day(date(2025, 4, 26))


# -- the 15:00 rule --------------------------------------------------------------------------

def test_due_received_monday_morning():
    # 09:00-11:30 = 2.5 h, then 13:30 + 1.5 h = 15:00.
    assert C.due_at(vn(2025, 3, 3, 9, 0)) == vn(2025, 3, 3, 15, 0)
    assert C.add_working_hours(vn(2025, 3, 3, 9, 0), 4) == vn(2025, 3, 3, 15, 0)


def test_due_friday_1459_vs_1501():
    # 14:59: 14:59-17:00 = 2h01m, Monday 07:30 + 1h59m = 09:29.
    assert C.due_at(vn(2025, 3, 7, 14, 59)) == vn(2025, 3, 10, 9, 29)
    # 15:01: after the cutoff -> Monday 07:30 + 4 h = 11:30 (weekend skipped).
    due = C.due_at(vn(2025, 3, 7, 15, 1))
    assert due == vn(2025, 3, 10, 11, 30)
    assert due.tzinfo == VN_TZ


def test_due_exactly_at_cutoff_counts_same_day():
    assert C.due_at(vn(2025, 3, 3, 15, 0)) == vn(2025, 3, 4, 9, 30)
    assert C.due_at(vn(2025, 3, 3, 15, 0, 0, 1)) == vn(2025, 3, 4, 11, 30)


def test_due_received_before_opening_and_on_weekend():
    assert C.due_at(vn(2025, 3, 3, 6, 0)) == vn(2025, 3, 3, 11, 30)
    assert C.due_at(vn(2025, 3, 8, 10, 0)) == vn(2025, 3, 10, 11, 30)   # Saturday
    assert C.due_at(vn(2025, 3, 9, 23, 59)) == vn(2025, 3, 10, 11, 30)  # Sunday night
    assert C.due_at(vn(2025, 3, 3, 22, 0)) == vn(2025, 3, 4, 11, 30)    # evening, after cutoff


def test_due_custom_hours():
    assert C.due_at(vn(2025, 3, 3, 9, 0), hours=8) == vn(2025, 3, 4, 9, 30)
    assert C.due_at(vn(2025, 3, 7, 16, 0), hours=0) == vn(2025, 3, 10, 7, 30)


def test_due_before_tet_2027():
    # Tet 2027 (package): Thu 4 Feb .. Wed 10 Feb. Last working day before: Wed 3 Feb.
    last_before = date(2027, 2, 3)
    first_after = date(2027, 2, 11)
    assert C.is_working_day(last_before) and C.is_working_day(first_after)
    assert all(not C.is_working_day(last_before + timedelta(days=i)) for i in range(1, 8))
    assert C.due_at(vn(2027, 2, 3, 15, 30)) == vn(2027, 2, 11, 11, 30)
    # Before the cutoff: 14:00-17:00 = 3 h, then 1 h on the first day after Tet.
    assert C.due_at(vn(2027, 2, 3, 14, 0)) == vn(2027, 2, 11, 8, 30)


def test_due_before_tet_2026():
    # Tet 2026 (package): Mon 16 Feb .. Fri 20 Feb; with the weekends, Fri 13 Feb -> Mon 23 Feb.
    assert C.due_at(vn(2026, 2, 13, 16, 0)) == vn(2026, 2, 23, 11, 30)


def test_makeup_saturday_counts_as_working():
    sat = date(2025, 3, 8)
    c = WorkingCalendar(makeup_days=frozenset({sat}))
    assert c.is_working_day(sat)
    assert c.due_at(vn(2025, 3, 7, 15, 1)) == vn(2025, 3, 8, 11, 30)
    assert c.working_hours_between(vn(2025, 3, 7, 17, 0), vn(2025, 3, 10, 7, 30)) == 7.5
    # A make-up day does not override a public holiday.
    c2 = WorkingCalendar(makeup_days=frozenset({date(2025, 9, 2)}))
    assert not c2.is_working_day(date(2025, 9, 2))


def test_extra_day_off_is_skipped():
    c = WorkingCalendar(extra_days_off=frozenset({NEXT_MON}))
    assert not c.is_working_day(NEXT_MON)
    assert c.due_at(vn(2025, 3, 7, 15, 1)) == vn(2025, 3, 11, 11, 30)
    assert c.add_working_hours(vn(2025, 3, 7, 16, 0), 2) == vn(2025, 3, 11, 8, 30)
    # The default calendar is unaffected.
    assert C.is_working_day(NEXT_MON)


# -- working_hours_between ---------------------------------------------------------------------

def test_between_across_lunch():
    assert C.working_hours_between(vn(2025, 3, 3, 11, 0), vn(2025, 3, 3, 14, 0)) == 1.0
    assert C.working_hours_between(vn(2025, 3, 3, 12, 0), vn(2025, 3, 3, 13, 0)) == 0.0
    assert C.working_hours_between(vn(2025, 3, 3, 7, 0), vn(2025, 3, 3, 18, 0)) == 7.5


def test_between_across_weekend():
    assert C.working_hours_between(vn(2025, 3, 7, 16, 0), vn(2025, 3, 10, 8, 30)) == 2.0
    assert C.working_hours_between(vn(2025, 3, 3, 7, 30), vn(2025, 3, 10, 7, 30)) == 5 * 7.5


def test_between_across_holiday():
    # Hung Kings 2025 is Mon 7 Apr: Fri 4 Apr 16:00 -> Tue 8 Apr 08:30 = 1 h + 1 h.
    assert C.working_hours_between(vn(2025, 4, 4, 16, 0), vn(2025, 4, 8, 8, 30)) == 2.0
    # Across Tet 2027: Wed 3 Feb 16:00 -> Thu 11 Feb 08:00.
    assert C.working_hours_between(vn(2027, 2, 3, 16, 0), vn(2027, 2, 11, 8, 0)) == 1.5


def test_between_across_year_end():
    # Wed 31 Dec 2025 16:00 -> Fri 2 Jan 2026 08:00 (1 Jan is a holiday).
    assert C.working_hours_between(vn(2025, 12, 31, 16, 0), vn(2026, 1, 2, 8, 0)) == 1.5
    assert C.add_working_hours(vn(2025, 12, 31, 16, 0), 1.5) == vn(2026, 1, 2, 8, 0)


def test_between_reversed_or_equal_is_zero():
    a, b = vn(2025, 3, 3, 9, 0), vn(2025, 3, 4, 9, 0)
    assert C.working_hours_between(b, a) == 0.0
    assert C.working_hours_between(a, a) == 0.0


# -- time zones --------------------------------------------------------------------------------

def test_utc_input_is_converted():
    # 08:00 UTC = 15:00 in Vietnam: exactly at the cutoff -> same-day rule.
    at_cutoff = datetime(2025, 3, 7, 8, 0, tzinfo=timezone.utc)
    assert C.due_at(at_cutoff) == vn(2025, 3, 10, 9, 30)
    after = datetime(2025, 3, 7, 8, 1, tzinfo=timezone.utc)
    assert C.due_at(after) == vn(2025, 3, 10, 11, 30)
    # 02:00 UTC Monday = 09:00 Vietnam.
    result = C.add_working_hours(datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc), 4)
    assert result == vn(2025, 3, 3, 15, 0)
    assert result.utcoffset() == timedelta(hours=7)
    # Sunday 23:30 UTC is Monday 06:30 in Vietnam: a working day, before the cutoff.
    assert C.due_at(datetime(2025, 3, 2, 23, 30, tzinfo=timezone.utc)) == vn(2025, 3, 3, 11, 30)


def test_naive_datetime_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        C.due_at(datetime(2025, 3, 3, 9, 0))
    with pytest.raises(ValueError, match="offset"):
        cal.due_at("2025-03-03T09:00:00")


# -- add_working_hours / next_working_start ----------------------------------------------------

def test_moment_inside_lunch_break():
    assert C.next_working_start(vn(2025, 3, 3, 12, 0)) == vn(2025, 3, 3, 13, 30)
    assert C.next_working_start(vn(2025, 3, 3, 11, 30)) == vn(2025, 3, 3, 13, 30)
    assert C.add_working_hours(vn(2025, 3, 3, 12, 0), 4) == vn(2025, 3, 4, 8, 0)
    assert C.due_at(vn(2025, 3, 3, 12, 0)) == vn(2025, 3, 4, 8, 0)


def test_next_working_start():
    assert C.next_working_start(vn(2025, 3, 3, 9, 15)) == vn(2025, 3, 3, 9, 15)
    assert C.next_working_start(vn(2025, 3, 3, 7, 0)) == vn(2025, 3, 3, 7, 30)
    assert C.next_working_start(vn(2025, 3, 7, 17, 0)) == vn(2025, 3, 10, 7, 30)
    assert C.next_working_start(vn(2027, 2, 3, 17, 30)) == vn(2027, 2, 11, 7, 30)


def test_add_zero_hours():
    assert C.add_working_hours(vn(2025, 3, 3, 9, 0), 0) == vn(2025, 3, 3, 9, 0)
    assert C.add_working_hours(vn(2025, 3, 3, 12, 0), 0) == vn(2025, 3, 3, 13, 30)
    assert C.add_working_hours(vn(2025, 3, 7, 18, 0), 0) == vn(2025, 3, 10, 7, 30)


def test_add_fractional_hours():
    assert C.add_working_hours(vn(2025, 3, 3, 11, 20), 0.25) == vn(2025, 3, 3, 13, 35)
    assert C.add_working_hours(vn(2025, 3, 3, 9, 0), 1 / 3) == vn(2025, 3, 3, 9, 20)
    assert C.add_working_hours(vn(2025, 3, 3, 16, 45), 0.5) == vn(2025, 3, 4, 7, 45)


def test_add_ends_at_period_end_not_next_start():
    assert C.add_working_hours(vn(2025, 3, 3, 9, 0), 2.5) == vn(2025, 3, 3, 11, 30)
    assert C.add_working_hours(vn(2025, 3, 3, 7, 30), 7.5) == vn(2025, 3, 3, 17, 0)
    assert C.add_working_hours(vn(2025, 3, 7, 7, 30), 15) == vn(2025, 3, 10, 17, 0)


def test_add_many_hours_spans_weeks_and_years():
    # 10 working days from Mon 3 Mar 2025 07:30 = end of Fri 14 Mar.
    assert C.add_working_hours(vn(2025, 3, 3, 7, 30), 75) == vn(2025, 3, 14, 17, 0)
    start = vn(2025, 6, 2, 7, 30)
    end = C.add_working_hours(start, 7.5 * 400)
    assert C.working_hours_between(start, end) == 7.5 * 400


def test_bad_hours_rejected():
    for bad in (-1, float("nan"), float("inf"), "x"):
        with pytest.raises(ValueError):
            C.add_working_hours(vn(2025, 3, 3, 9, 0), bad)


def test_random_round_trip():
    rng = random.Random(20250303)
    base = vn(2024, 12, 20)
    for _ in range(2000):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 800))
        hours = rng.choice([0, 0.5, 1, 4, 7.5, 8, 16, 40]) + rng.randrange(0, 60) / 60
        end = C.add_working_hours(start, hours)
        assert end >= start
        assert C.working_hours_between(start, end) == pytest.approx(hours, abs=1e-9)
        assert C.working_hours_between(start, C.next_working_start(start)) == 0.0
        due = C.due_at(start)
        assert C.is_working_day(due.date())


def test_calendar_validation():
    with pytest.raises(ValueError):
        WorkingCalendar(periods=((time(13, 0), time(12, 0)),))
    with pytest.raises(ValueError):
        WorkingCalendar(periods=((time(8, 0), time(12, 0)), (time(11, 0), time(17, 0))))
    with pytest.raises(ValueError):
        WorkingCalendar(periods=())
    with pytest.raises(ValueError):
        WorkingCalendar(weekdays=frozenset({7}))


def test_custom_periods():
    c = WorkingCalendar(periods=((time(8, 0), time(12, 0)), (time(13, 0), time(17, 0))), cutoff=time(16, 0))
    assert c.due_at(vn(2025, 3, 3, 15, 30)) == vn(2025, 3, 4, 10, 30)
    assert c.due_at(vn(2025, 3, 3, 16, 30)) == vn(2025, 3, 4, 12, 0)


def test_calendar_is_hashable_and_comparable():
    assert WorkingCalendar() == default_calendar()
    assert hash(WorkingCalendar()) == hash(default_calendar())
    assert default_calendar() is default_calendar()


# -- string functions for BPMN expressions -----------------------------------------------------

def test_string_functions_round_trip():
    assert cal.due_at("2025-03-03T09:00:00+07:00") == "2025-03-03T15:00:00+07:00"
    assert cal.due_at("2025-03-03T02:00:00Z") == "2025-03-03T15:00:00+07:00"
    assert cal.due_at("2025-03-07T15:01:00+07:00") == "2025-03-10T11:30:00+07:00"
    assert cal.due_at("2025-03-03T09:00:00+07:00", 8) == "2025-03-04T09:30:00+07:00"
    out = cal.add_working_hours("2025-03-03T11:20:00+07:00", 0.25)
    assert out == "2025-03-03T13:35:00+07:00"
    assert datetime.fromisoformat(out) == vn(2025, 3, 3, 13, 35)
    assert cal.working_hours_between("2025-03-03T11:20:00+07:00", out) == 0.25
    assert cal.working_hours_between("2025-03-07T09:00:00Z", "2025-03-10T01:30:00Z") == 2.0
    assert cal.working_hours_between(out, "2025-03-03T11:20:00+07:00") == 0.0
    # Output parses back and feeds the next call unchanged.
    due = cal.due_at("2027-02-03T15:30:00+07:00")
    assert due == "2027-02-11T11:30:00+07:00"
    assert cal.working_hours_between("2027-02-03T15:30:00+07:00", due) == 5.5  # 1.5 h + 4 h
    # Adding 0 h keeps a working instant; 11:30 is the end of the morning, so it moves to 13:30.
    assert cal.add_working_hours("2025-03-03T15:00:00+07:00", 0) == "2025-03-03T15:00:00+07:00"
    assert cal.add_working_hours(due, 0) == "2027-02-11T13:30:00+07:00"


def test_string_functions_reject_garbage():
    with pytest.raises(ValueError, match="ISO-8601"):
        cal.add_working_hours("next tuesday", 1)
    with pytest.raises(ValueError, match="offset"):
        cal.working_hours_between("2025-03-03T09:00:00", "2025-03-03T10:00:00+07:00")
