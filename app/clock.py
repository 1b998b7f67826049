"""The application clock. Tests, `certcopy tick --now` and replays set it; everything else reads it.

SpiffWorkflow's timers call `datetime.now(timezone.utc)` directly, so `install()` points the timer module's
`datetime` name at a subclass whose `now()` answers from this clock.
"""
from __future__ import annotations

import contextlib
import contextvars
from datetime import datetime, timezone

_fixed: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("certcopy_now", default=None)
_global_fixed: list[datetime | None] = [None]


def now() -> datetime:
    """Current moment, timezone-aware UTC."""
    fixed = _fixed.get() or _global_fixed[0]
    return fixed if fixed is not None else datetime.now(timezone.utc)


@contextlib.contextmanager
def frozen(moment: datetime):
    """Within the block (this thread/context), `now()` is `moment`."""
    if moment.tzinfo is None:
        raise ValueError("frozen() needs a timezone-aware moment")
    token = _fixed.set(moment.astimezone(timezone.utc))
    try:
        yield
    finally:
        _fixed.reset(token)


def set_global(moment: datetime | None) -> None:
    """Fix the clock for every thread (tests with threads); None restores the real clock."""
    _global_fixed[0] = moment.astimezone(timezone.utc) if moment else None


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        moment = now()
        return moment.astimezone(tz) if tz else moment.astimezone().replace(tzinfo=None)


def install() -> None:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockDatetime
