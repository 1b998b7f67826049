"""The state of the timers as operators watch it: how many wait, how many are due, the next one, and the dossiers
whose timers failed and wait for a retry."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.adapters.models import Dossier
from app.services.unit_of_work import reading

FAILING_SHOWN = 100


def timer_status(system, now: datetime) -> dict:
    with reading(system) as session:
        due_now = session.scalar(select(func.count(Dossier.id)).where(Dossier.next_timer_at < now))
        waiting = session.scalar(select(func.count(Dossier.id)).where(Dossier.next_timer_at.is_not(None)))
        next_at = session.scalar(select(func.min(Dossier.next_timer_at)).where(Dossier.next_timer_at > now))
        failing = session.execute(select(Dossier.code, Dossier.timer_attempts, Dossier.timer_retry_at,
                                         Dossier.timer_error).where(Dossier.timer_attempts > 0)
                                  .order_by(Dossier.timer_retry_at).limit(FAILING_SHOWN)).all()
    return {
        "now": now.isoformat(), "waiting": waiting, "due_now": due_now,
        "next_timer_at": next_at.isoformat() if next_at else None,
        "failing": [{"code": code, "attempts": attempts, "retry_at": retry_at.isoformat() if retry_at else None,
                     "error": error} for code, attempts, retry_at, error in failing],
    }
