"""Working-time calendar: working hours, working days, and the 15:00 due-date rule.

Pure domain code (no Flask, no database).

Working days are the configured weekdays (Mon-Fri) plus make-up days, minus Vietnamese public
holidays and extra days off. Public holidays come from the `holidays` package (checked against
v0.109), `holidays.country_holidays("VN", years=...)` with its defaults (`observed=True`):

* fixed days: 1 Jan, Hung Kings' day (10th of the 3rd lunar month), 30 Apr, 1 May, 2 Sep plus
  the adjacent day (since 2021), and 24 Nov (Vietnam Cultural Day, since 2026);
* Tet: lunar New Year's Eve and days 1-4; when one of these falls on a weekend the package adds a
  compensating weekday ("29 Tet" before or "5th day" after). 2025: 27 Jan-1 Feb (27 Jan added);
  2026: 16-20 Feb (Mon-Fri); 2027: 4-10 Feb (Thu-Wed; 4 Feb and 10 Feb added for Sat/Sun 6-7 Feb);
* observed days: a holiday falling on a weekend is moved to the next workday (e.g. 27 Apr 2026,
  3 May 2027);
* government swap days: "Day off (substituted from <Saturday>)" (e.g. 2 May 2025 for Sat
  26 Apr 2025, 31 Aug 2026 for Sat 22 Aug 2026).

For those swaps the package also records the Saturday worked in exchange
(`VietnamStaticHolidays.special_public_holidays`); it is read here and treated as a make-up
working day in addition to `makeup_days` (if the table cannot be read, only `makeup_days` count).
`extra_days_off` overrides any make-up day. Announcements newer than the installed package
(e.g. longer Tet breaks decided each year) are configured through `extra_days_off`/`makeup_days`.

Times are wall-clock times in `tz`. Working periods are half-open: at 11:30 the morning period is
over, so the next working instant is 13:30; a duration that ends exactly at 11:30 ends at 11:30.
Everything is counted in integer microseconds; per-year tables (a working flag and a running count
of working days per date) are built lazily and cached, so each call is a few bisects.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "VN_TZ",
    "WorkingCalendar",
    "default_calendar",
    "add_working_hours",
    "due_at",
    "working_hours_between",
    "subtract_working_hours",
    "calendar_from_config",
    "calendar_to_config",
    "CalendarConfigError",
]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND
_MAX_EMPTY_YEARS = 50  # give up looking for a working day after this many years without one


# ---------------------------------------------------------------------------------------------
# Public holidays (independent of any calendar's settings), cached per year.

@lru_cache(maxsize=None)
def _vn_holidays_raw(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


@lru_cache(maxsize=None)
def public_holidays(year: int) -> frozenset[date]:
    """Vietnamese public holidays (incl. observed and swap days) falling in `year`."""
    days = set()
    for y in (year - 1, year, year + 1):  # an observed day may cross a year boundary
        days.update(d for d in _vn_holidays_raw(y) if d.year == year)
    return frozenset(days)


@lru_cache(maxsize=1)
def _package_makeup_table() -> frozenset[date]:
    """Saturdays worked in exchange for the package's "substituted" days off."""
    try:
        from holidays.countries.vietnam import VietnamStaticHolidays

        table = VietnamStaticHolidays.special_public_holidays
    except Exception:  # pragma: no cover - package layout changed
        return frozenset()
    out = set()
    for year, entries in table.items():
        if entries and not isinstance(entries[0], tuple):
            entries = (entries,)
        for entry in entries:
            # (month, day, from_month, from_day[, from_year]): a day off for working `from_*`.
            if len(entry) in (4, 5) and all(isinstance(x, int) for x in entry):
                from_year = entry[4] if len(entry) == 5 else year
                try:
                    out.add(date(from_year, entry[2], entry[3]))
                except ValueError:  # pragma: no cover
                    pass
    return frozenset(out)


def package_makeup_days(year: int) -> frozenset[date]:
    """Make-up working days the `holidays` package implies for `year`."""
    return frozenset(d for d in _package_makeup_table() if d.year == year)


# ---------------------------------------------------------------------------------------------

class _Year(NamedTuple):
    first: int  # ordinal of 1 January
    flags: bytes  # 1 = working day, per day of year
    incl: list[int]  # working days from 1 January up to and including each day
    total: int


def _us_of(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _time_of(us: int) -> time:
    s, micro = divmod(us, _US_PER_SECOND)
    m, sec = divmod(s, 60)
    h, minute = divmod(m, 60)
    return time(h, minute, sec, micro)


def _hours_to_us(hours: float) -> int:
    try:
        value = float(hours)
    except (TypeError, ValueError):
        raise ValueError(f"hours must be a number, got {hours!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
    return round(value * _US_PER_HOUR)


@dataclass(frozen=True)
class WorkingCalendar:
    """Working periods per day, working days and the cutoff rule, in local time `tz`."""

    periods: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    extra_days_off: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()
    cutoff: time = time(15, 0)
    tz: ZoneInfo = VN_TZ

    def __post_init__(self) -> None:
        periods = tuple((s, e) for s, e in self.periods)
        bounds = []
        last_end = -1
        for s, e in periods:
            if not isinstance(s, time) or not isinstance(e, time) or s.tzinfo or e.tzinfo:
                raise ValueError("periods must be pairs of naive datetime.time")
            su, eu = _us_of(s), _us_of(e)
            if su >= eu or su < last_end:
                raise ValueError("periods must be non-empty, sorted and non-overlapping")
            bounds.append((su, eu))
            last_end = eu
        if not bounds:
            raise ValueError("at least one working period is needed")
        weekdays = frozenset(self.weekdays)
        if any(not isinstance(w, int) or not 0 <= w <= 6 for w in weekdays):
            raise ValueError("weekdays are integers 0 (Monday) .. 6 (Sunday)")
        if self.tz is None:
            raise ValueError("tz is required")
        # Normalise containers so the instance stays hashable whatever iterables were given.
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "weekdays", weekdays)
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        object.__setattr__(self, "makeup_days", frozenset(self.makeup_days))
        # Derived data and caches: plain attributes, not dataclass fields (no effect on eq/hash/repr).
        object.__setattr__(self, "_bounds", tuple(bounds))
        object.__setattr__(self, "_day_us", sum(e - s for s, e in bounds))
        object.__setattr__(self, "_cutoff_us", _us_of(self.cutoff))
        object.__setattr__(self, "_years", {})

    # -- per-year tables ------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        tab = self._years.get(year)
        if tab is None:
            off = public_holidays(year) | self.extra_days_off
            makeup = self.makeup_days | package_makeup_days(year)
            first = date(year, 1, 1)
            n = (date(year + 1, 1, 1) - first).days
            flags = bytearray(n)
            incl = [0] * n
            count = 0
            weekdays = self.weekdays
            for i in range(n):
                d = first + timedelta(days=i)
                if (d.weekday() in weekdays or d in makeup) and d not in off:
                    flags[i] = 1
                    count += 1
                incl[i] = count
            tab = _Year(first.toordinal(), bytes(flags), incl, count)
            self._years[year] = tab  # idempotent; a race only computes it twice
        return tab

    def _nth_working_day_after(self, d: date, k: int) -> date:
        """The k-th working day strictly after d (k >= 1)."""
        year = d.year
        tab = self._year(year)
        target = tab.incl[d.toordinal() - tab.first] + k
        empty = 0
        while target > tab.total:
            target -= tab.total
            empty = empty + 1 if tab.total == 0 else 0
            if empty > _MAX_EMPTY_YEARS:
                raise ValueError("the calendar has no working days")
            year += 1
            tab = self._year(year)
        return date.fromordinal(tab.first + bisect_left(tab.incl, target))

    def _working_days_before(self, d: date, ref_year: int) -> int:
        """Working days from 1 January of ref_year up to, not including, d (d.year >= ref_year)."""
        tab = self._year(d.year)
        i = d.toordinal() - tab.first
        n = tab.incl[i] - tab.flags[i]
        for y in range(ref_year, d.year):
            n += self._year(y).total
        return n

    def _worked_before(self, us: int) -> int:
        """Working microseconds of a working day before the wall-clock time `us`."""
        done = 0
        for s, e in self._bounds:
            if us <= s:
                break
            done += min(us, e) - s
        return done

    def _time_at_offset(self, offset: int) -> int:
        """Wall-clock time (us) at which `offset` working us of a day are done (0 -> day start)."""
        acc = 0
        for s, e in self._bounds:
            length = e - s
            if offset <= acc + length:
                return s + (offset - acc) if offset > acc else s
            acc += length
        return self._bounds[-1][1]  # pragma: no cover - offset <= _day_us by construction

    # -- helpers ----------------------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        if not isinstance(moment, datetime):
            raise ValueError(f"a datetime is required, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got naive {moment.isoformat()}")
        return moment.astimezone(self.tz)

    def _at(self, d: date, us: int) -> datetime:
        return datetime.combine(d, _time_of(us), tzinfo=self.tz)

    def _is_working(self, d: date) -> bool:
        tab = self._year(d.year)
        return tab.flags[d.toordinal() - tab.first] == 1

    def _next_start_local(self, local: datetime) -> tuple[date, int]:
        d = local.date()
        t = _us_of(local.time())
        if self._is_working(d):
            for s, e in self._bounds:
                if t < e:
                    return d, max(t, s)
        return self._nth_working_day_after(d, 1), self._bounds[0][0]

    def _add_from(self, d: date, t: int, amount: int) -> datetime:
        """Add `amount` working us from working instant (d, t)."""
        if amount == 0:
            return self._at(d, t)  # offset alone would map 13:30 back to 11:30
        total = self._worked_before(t) + amount
        day_us = self._day_us
        if total <= day_us:
            return self._at(d, self._time_at_offset(total))
        k, rest = divmod(total, day_us)
        if rest == 0:
            k, rest = k - 1, day_us
        return self._at(self._nth_working_day_after(d, k), self._time_at_offset(rest))

    # -- public API -----------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Weekday or make-up day, and neither a public holiday nor an extra day off."""
        if isinstance(d, datetime):
            d = self._local(d).date()
        return self._is_working(d)

    def next_working_start(self, moment: datetime) -> datetime:
        """First working instant >= moment, aware in self.tz."""
        d, t = self._next_start_local(self._local(moment))
        return self._at(d, t)

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """moment + `hours` working hours, counted from the first working instant >= moment."""
        amount = _hours_to_us(hours)
        d, t = self._next_start_local(self._local(moment))
        return self._add_from(d, t, amount)

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours in [start, end); 0 if end <= start."""
        a, b = self._local(start), self._local(end)
        if b <= a:
            return 0.0
        da, db = a.date(), b.date()
        days = self._working_days_before(db, da.year) - self._working_days_before(da, da.year)
        us = days * self._day_us
        if self._is_working(da):
            us -= self._worked_before(_us_of(a.time()))
        if self._is_working(db):
            us += self._worked_before(_us_of(b.time()))
        return us / _US_PER_HOUR

    def subtract_working_hours(self, moment: datetime, hours: float) -> datetime:
        """The latest moment m <= `moment` with `hours` working hours in [m, moment).

        For a deadline, "one working hour before" it: a notice at that moment leaves exactly `hours`.
        The result is a working instant (a period start counts, a period end does not)."""
        amount = _hours_to_us(hours)
        local = self._local(moment)
        if amount == 0:
            return local
        d, t = local.date(), _us_of(local.time())
        if not self._is_working(d):
            d, t = self._prev_working_day(d), self._bounds[-1][1]
        done = self._worked_before(t)
        day_us = self._day_us
        while amount > done:
            amount -= done
            d, done = self._prev_working_day(d), day_us
        return self._at(d, self._time_at_offset_end(done - amount) if done - amount else self._bounds[0][0])

    def _time_at_offset_end(self, offset: int) -> int:
        """Like _time_at_offset, but a period boundary maps to the START of the next period."""
        acc = 0
        for s, e in self._bounds:
            length = e - s
            if offset < acc + length:
                return s + (offset - acc)
            acc += length
        return self._bounds[-1][1]

    def _prev_working_day(self, d: date) -> date:
        for _ in range(366 * _MAX_EMPTY_YEARS):
            d = d - timedelta(days=1)
            if self._is_working(d):
                return d
        raise ValueError("the calendar has no working days")

    def due_at(self, received_at: datetime, hours: float = 4) -> datetime:
        """The 15:00 rule: by the cutoff on a working day count from receipt, else from the next working day."""
        amount = _hours_to_us(hours)
        local = self._local(received_at)
        d = local.date()
        if self._is_working(d) and _us_of(local.time()) <= self._cutoff_us:
            d, t = self._next_start_local(local)
        else:
            d, t = self._nth_working_day_after(d, 1), self._bounds[0][0]
        return self._add_from(d, t, amount)


# ---------------------------------------------------------------------------------------------

_DEFAULT = WorkingCalendar()


def default_calendar() -> WorkingCalendar:
    """The shared default calendar (Mon-Fri 07:30-11:30, 13:30-17:00, cutoff 15:00, Vietnam)."""
    return _DEFAULT


def _parse(value: str | datetime, name: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{name}: not an ISO-8601 date-time: {value!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: an ISO-8601 date-time with an offset is required, got {value!r}")
    return moment


# ---------------------------------------------------------------------------------------------
# Calendars as plain data (per-agency settings, and the optional `calendar` argument of the
# expression functions): {"periods": [["07:30", "11:30"], ["13:30", "17:00"]], "weekdays": [0, 1, 2, 3, 4],
# "cutoff": "15:00", "extra_days_off": ["2026-02-23"], "makeup_days": ["2026-02-28"]}; every key optional.

class CalendarConfigError(ValueError):
    """A calendar configuration is not usable; the message (Vietnamese) names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


CONFIG_KEYS = ("periods", "weekdays", "cutoff", "extra_days_off", "makeup_days")
MAX_LISTED_DAYS = 1000


def _config_time(value, field: str) -> time:
    if not isinstance(value, str):
        raise CalendarConfigError(field, f"'{field}': giờ phải có dạng HH:MM, ví dụ \"07:30\".")
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise CalendarConfigError(field, f"'{field}': '{value}' không phải giờ hợp lệ (HH:MM).") from None
    if parsed.tzinfo is not None:
        raise CalendarConfigError(field, f"'{field}': giờ không kèm múi giờ.")
    return parsed


def _config_days(value, field: str) -> frozenset[date]:
    if not isinstance(value, (list, tuple)):
        raise CalendarConfigError(field, f"'{field}' phải là danh sách ngày YYYY-MM-DD.")
    if len(value) > MAX_LISTED_DAYS:
        raise CalendarConfigError(field, f"'{field}' có quá nhiều ngày (tối đa {MAX_LISTED_DAYS}).")
    days = set()
    for item in value:
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            raise CalendarConfigError(field, f"'{field}': '{item}' không phải ngày hợp lệ (YYYY-MM-DD).") from None
    return frozenset(days)


def _check_config(config) -> dict:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise CalendarConfigError("calendar", "Lịch làm việc phải là một đối tượng JSON.")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise CalendarConfigError(unknown[0], f"Trường '{unknown[0]}' không có trong lịch làm việc "
                                              f"(chỉ có: {', '.join(CONFIG_KEYS)}).")
    return config


def _build(config: dict) -> WorkingCalendar:
    kwargs = {}
    if "periods" in config:
        periods = config["periods"]
        if not isinstance(periods, (list, tuple)) or not periods or \
                not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in periods):
            raise CalendarConfigError("periods", "'periods' phải là danh sách các khoảng [\"giờ bắt đầu\", "
                                                 "\"giờ kết thúc\"], ví dụ [[\"07:30\", \"11:30\"]].")
        kwargs["periods"] = tuple((_config_time(a, "periods"), _config_time(b, "periods")) for a, b in periods)
    if "weekdays" in config:
        weekdays = config["weekdays"]
        if not isinstance(weekdays, (list, tuple)) or \
                not all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w <= 6 for w in weekdays):
            raise CalendarConfigError("weekdays", "'weekdays' phải là danh sách số từ 0 (thứ Hai) đến 6 (Chủ nhật).")
        kwargs["weekdays"] = frozenset(weekdays)
    if "cutoff" in config:
        kwargs["cutoff"] = _config_time(config["cutoff"], "cutoff")
    if "extra_days_off" in config:
        kwargs["extra_days_off"] = _config_days(config["extra_days_off"], "extra_days_off")
    if "makeup_days" in config:
        kwargs["makeup_days"] = _config_days(config["makeup_days"], "makeup_days")
    try:
        return WorkingCalendar(**kwargs)
    except ValueError:
        raise CalendarConfigError("periods", "Khoảng giờ làm việc không hợp lệ: mỗi khoảng phải có giờ bắt đầu "
                                             "trước giờ kết thúc, các khoảng theo thứ tự và không chồng nhau.") \
            from None


@lru_cache(maxsize=256)
def _from_canonical(canonical: str) -> WorkingCalendar:
    import json

    return _build(json.loads(canonical))


def calendar_from_config(config: dict | None) -> WorkingCalendar:
    """A WorkingCalendar from plain data (cached per distinct configuration); None or {} is the default.

    Raises CalendarConfigError (a ValueError) naming the bad field."""
    import json

    config = _check_config(config)
    if not config:
        return _DEFAULT
    try:
        canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        raise CalendarConfigError("calendar", "Lịch làm việc chứa giá trị không hợp lệ.") from None
    calendar = _from_canonical(canonical)
    return _DEFAULT if calendar == _DEFAULT else calendar


def calendar_to_config(calendar: WorkingCalendar) -> dict:
    """The plain-data form of a calendar (all keys, sorted day lists)."""
    return {
        "periods": [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in calendar.periods],
        "weekdays": sorted(calendar.weekdays),
        "cutoff": calendar.cutoff.strftime("%H:%M"),
        "extra_days_off": sorted(d.isoformat() for d in calendar.extra_days_off),
        "makeup_days": sorted(d.isoformat() for d in calendar.makeup_days),
    }


# Plain functions for BPMN script expressions (ISO-8601 strings with offsets in and out). The optional
# `calendar` is an agency's calendar as plain data (see calendar_from_config); without it, the default.

def add_working_hours(moment_iso: str, hours: float, calendar: dict | None = None) -> str:
    """ISO moment + working hours, as ISO in Vietnam time."""
    return calendar_from_config(calendar).add_working_hours(_parse(moment_iso, "moment"), hours).isoformat()


def subtract_working_hours(moment_iso: str, hours: float, calendar: dict | None = None) -> str:
    """ISO moment - working hours (e.g. one working hour before a deadline), as ISO in Vietnam time."""
    return calendar_from_config(calendar).subtract_working_hours(_parse(moment_iso, "moment"), hours).isoformat()


def due_at(received_iso: str, hours: float = 4, calendar: dict | None = None) -> str:
    """Due moment (15:00 rule) for an ISO receipt moment, as ISO in Vietnam time."""
    return calendar_from_config(calendar).due_at(_parse(received_iso, "received"), hours).isoformat()


def working_hours_between(start_iso: str, end_iso: str, calendar: dict | None = None) -> float:
    """Working hours between two ISO moments (0 if end <= start)."""
    return calendar_from_config(calendar).working_hours_between(_parse(start_iso, "start"), _parse(end_iso, "end"))
