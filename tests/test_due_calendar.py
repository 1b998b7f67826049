"""Calendars as plain data (per-agency settings) and the calendar functions BPMN expressions can call."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest

from app.engine.expressions import FUNCTIONS
from app.engine.scripting import SafeEnvironment
from app.domain import calendar as cal
from app.services.administration.calendars import merge_configs
from app.domain.calendar import (
    VN_TZ,
    CalendarConfigError,
    WorkingCalendar,
    calendar_from_config,
    calendar_to_config,
    default_calendar,
)

C = default_calendar()


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def test_config_round_trip_and_default():
    assert calendar_from_config(None) is C and calendar_from_config({}) is C
    assert calendar_from_config(calendar_to_config(C)) is C
    config = {"periods": [["08:00", "12:00"], ["13:00", "17:00"]], "weekdays": [0, 1, 2, 3, 4, 5],
              "cutoff": "16:00", "extra_days_off": ["2026-02-23"], "makeup_days": ["2026-02-28"]}
    own = calendar_from_config(config)
    assert own.periods == ((time(8), time(12)), (time(13), time(17))) and own.cutoff == time(16)
    assert 5 in own.weekdays and date(2026, 2, 23) in own.extra_days_off
    assert calendar_to_config(own) == config
    assert calendar_from_config(dict(config)) is own  # cached per configuration


def test_config_errors_name_the_field():
    with pytest.raises(CalendarConfigError) as err:
        calendar_from_config({"cutoff": "25:00"})
    assert err.value.field == "cutoff" and "HH:MM" in err.value.message
    with pytest.raises(CalendarConfigError) as err:
        calendar_from_config(["07:30"])
    assert err.value.field == "calendar"


def test_agency_config_overrides_the_default_key_by_key():
    default = {"extra_days_off": ["2026-02-23"], "cutoff": "15:00"}
    assert merge_configs(default, {"cutoff": "16:00"}) == {"extra_days_off": ["2026-02-23"], "cutoff": "16:00"}
    assert merge_configs(None, None) == {}


def test_extra_day_off_and_make_up_day_move_the_15h_rule():
    tet_extended = calendar_from_config({"extra_days_off": ["2026-02-23"]})
    assert tet_extended.due_at(vn(2026, 2, 13, 16, 0)) == vn(2026, 2, 24, 11, 30)
    saturday = calendar_from_config({"makeup_days": ["2026-11-28"]})
    assert saturday.due_at(vn(2026, 11, 27, 15, 30)) == vn(2026, 11, 28, 11, 30)
    assert C.due_at(vn(2026, 11, 27, 15, 30)) == vn(2026, 11, 30, 11, 30)


def test_subtract_working_hours_is_the_inverse_of_counting():
    assert C.subtract_working_hours(vn(2025, 3, 3, 14, 30), 1) == vn(2025, 3, 3, 13, 30)  # latest such moment
    assert C.subtract_working_hours(vn(2025, 3, 3, 7, 45), 1) == vn(2025, 2, 28, 16, 15)  # back over a weekend
    assert C.subtract_working_hours(vn(2026, 2, 23, 8, 0), 1) == vn(2026, 2, 13, 16, 30)  # back over Tet
    assert C.subtract_working_hours(vn(2025, 3, 3, 9, 0), 0) == vn(2025, 3, 3, 9, 0)
    rng = random.Random(7)
    for _ in range(500):
        moment = vn(2025, 1, 1) + timedelta(minutes=rng.randrange(60 * 24 * 800))
        hours = rng.choice([0.25, 1, 2, 4, 7.5, 12, 40])
        earlier = C.subtract_working_hours(moment, hours)
        assert earlier <= moment and C.working_hours_between(earlier, moment) == pytest.approx(hours)
        # the latest such moment: a minute later there is less than `hours` left
        later = earlier + timedelta(minutes=1)
        assert later > moment or C.working_hours_between(later, moment) < hours


def test_expression_functions_accept_an_agency_calendar():
    lunch_13h = {"periods": [["07:30", "11:30"], ["13:00", "17:00"]]}
    assert cal.add_working_hours("2025-03-03T11:00:00+07:00", 1) == "2025-03-03T14:00:00+07:00"
    assert cal.add_working_hours("2025-03-03T11:00:00+07:00", 1, lunch_13h) == "2025-03-03T13:30:00+07:00"
    assert cal.subtract_working_hours("2025-03-03T14:00:00+07:00", 1) == "2025-03-03T11:00:00+07:00"
    assert cal.subtract_working_hours("2025-03-03T14:00:00+07:00", 1, lunch_13h) == "2025-03-03T13:00:00+07:00"
    assert cal.due_at("2025-03-03T15:30:00+07:00", 4, {"cutoff": "16:00"}) == "2025-03-04T10:00:00+07:00"
    assert cal.due_at("2025-03-03T15:30:00+07:00", 4) == "2025-03-04T11:30:00+07:00"
    assert cal.working_hours_between("2025-03-03T11:00:00+07:00", "2025-03-03T14:00:00+07:00", lunch_13h) == 1.5
    with pytest.raises(ValueError):
        cal.add_working_hours("2025-03-03T11:00:00+07:00", 1, {"weekdays": [9]})


def test_bpmn_expressions_can_write_deadlines():
    env = SafeEnvironment()
    assert "subtract_working_hours" in FUNCTIONS
    data = {"due_at": "2026-11-23T15:00:00+07:00", "calendar": {"periods": [["07:30", "11:30"], ["13:00", "17:00"]]}}
    assert env.evaluate("subtract_working_hours(due_at, 1)", data) == "2026-11-23T14:00:00+07:00"
    assert env.evaluate("due_at_for('2026-02-13T16:00:00+07:00', 4)", {}) == "2026-02-23T11:30:00+07:00"
    assert env.evaluate("add_working_hours(due_at, 2.5, calendar)", data) == "2026-11-25T08:00:00+07:00"


def test_calendar_is_still_hashable_for_grouping():
    a = calendar_from_config({"cutoff": "16:00"})
    b = WorkingCalendar(cutoff=time(16))
    assert a == b and len({a, b, C}) == 2
