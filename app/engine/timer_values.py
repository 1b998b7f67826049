"""Bounds on the values BPMN timers may take: a moment within five years, no duration or cycle under a minute.

SpiffWorkflow turns a duration into a moment by walking it month by month, so `P999999999Y` would spin a
thread for hours; these checks run on the value before the library sees it, both when an administrator saves a
routing file and when a stored version's timer starts.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)

MAX_REACH = timedelta(days=5 * 366)
MIN_INTERVAL = timedelta(minutes=1)
MAX_CYCLES = 1_000
MAX_TEXT = 100

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_KIND_VI = {"timeDate": "một thời điểm", "timeDuration": "một khoảng thời gian", "timeCycle": "một chu kỳ lặp"}


class TimerValueRejected(ValueError):
    """A timer value is not ISO 8601 of its kind or lies outside the bounds; the message is Vietnamese."""


def kind_of(definition: TimerEventDefinition) -> str:
    """The BPMN element name of the timer's kind: timeDate, timeDuration or timeCycle."""
    if isinstance(definition, DurationTimerEventDefinition):
        return "timeDuration"
    if isinstance(definition, CycleTimerEventDefinition):
        return "timeCycle"
    return "timeDate"


def _span(text: str) -> tuple[timedelta, timedelta]:
    """The shortest and longest span an ISO 8601 duration can mean (months of 28 to 31 days)."""
    match = _DURATION.fullmatch(text.upper())
    if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        raise TimerValueRejected(f"'{text}' không phải khoảng thời gian ISO 8601 (ví dụ 'PT4H', 'P15D')")
    years, months, weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    if max(years, months, weeks, days, hours, minutes, seconds) > 10 ** 7:
        raise TimerValueRejected(f"khoảng thời gian '{text}' dài quá 5 năm")
    fixed = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    return (fixed + timedelta(days=365 * years + 28 * months), fixed + timedelta(days=366 * years + 31 * months))


def _check_span(text: str, what: str) -> None:
    shortest, longest = _span(text)
    if longest > MAX_REACH:
        raise TimerValueRejected(f"{what} '{text}' dài quá 5 năm")
    if shortest < MIN_INTERVAL:
        raise TimerValueRejected(f"{what} '{text}' ngắn hơn 1 phút")


def _moment(text: str, now: datetime) -> datetime:
    try:
        moment = TimerEventDefinition.get_datetime(text)
    except (ValueError, TypeError, OverflowError):
        raise TimerValueRejected(f"'{text}' không phải thời điểm ISO 8601 (ví dụ "
                                 "'2026-11-25T15:00:00+07:00')") from None
    if moment - now > MAX_REACH:
        raise TimerValueRejected(f"thời điểm '{text}' xa quá 5 năm")
    return moment


def check(kind: str, value: object, now: datetime) -> None:
    """Raise TimerValueRejected unless `value` is a bounded ISO 8601 value of `kind` as seen at `now`."""
    if not isinstance(value, str):
        raise TimerValueRejected(f"kết quả là {type(value).__name__}, cần chuỗi ISO 8601 là {_KIND_VI[kind]}")
    if len(value) > MAX_TEXT:
        raise TimerValueRejected(f"giá trị hẹn giờ dài quá {MAX_TEXT} ký tự")
    text = value.strip()
    if kind == "timeDate":
        _moment(text, now)
    elif kind == "timeDuration":
        _check_span(text, "khoảng thời gian")
    else:
        _check_cycle(text, now)


def _check_cycle(text: str, now: datetime) -> None:
    parts = text.upper().replace("--", "/").split("/")
    if len(parts) not in (2, 3) or not re.fullmatch(r"R\d*", parts[0]):
        raise TimerValueRejected(f"'{text}' không phải chu kỳ ISO 8601 (ví dụ 'R3/PT1H')")
    if parts[0] == "R":
        raise TimerValueRejected(f"chu kỳ '{text}' cần số lần lặp (ví dụ 'R3/PT1H'), không được lặp vô hạn")
    if int(parts[0][1:]) > MAX_CYCLES:
        raise TimerValueRejected(f"chu kỳ '{text}' lặp quá {MAX_CYCLES} lần")
    durations = [p for p in parts[1:] if p.startswith("P")]
    if len(durations) != 1:
        raise TimerValueRejected(f"chu kỳ '{text}' cần đúng một khoảng thời gian (ví dụ 'R3/PT1H')")
    _check_span(durations[0], "chu kỳ")
    for part in parts[1:]:
        if not part.startswith("P"):
            _moment(part, now)
