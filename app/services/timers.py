"""Timers: one scheduler tick fires the BPMN timers that are due, sends due-soon notices and runs the
periodic jobs other parts of the app register (e.g. appointment reminders).

Finding due work is one range scan over the indexed `dossiers.next_timer_at`, which the engine keeps equal
to the earliest of SpiffWorkflow's waiting timer events after every step. Each dossier then runs in its own
transaction under its lock, re-checked inside the lock, so with several schedulers (gunicorn workers,
hosts) on one database every timer fires exactly once: on PostgreSQL a dossier another scheduler is working
on is skipped (`FOR UPDATE SKIP LOCKED`) instead of waited for, and once that scheduler commits the timer is
no longer due. A dossier whose step fails (a notification that cannot be sent, …) is rolled back, and retried
after an exponential backoff recorded on the row (`timer_attempts`, `timer_retry_at`, `timer_error`); the
others go on.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select, true
from sqlalchemy.orm import Session, lazyload

from app import clock
from app.adapters.db import lock_dossier, queue_insert, take_sqlite_write_lock
from app.engine.audit import append_event
from app.engine.runtime import FINAL_STATUSES, StepContext
from app.adapters.models import Dossier, HumanTask, Notification, SchedulerClaim, User
from app.services.administration.calendars import calendars_by_agency
from app.domain.calendar import VN_TZ, WorkingCalendar
from app.services.unit_of_work import unit_of_work
from app.services.queries.due import NOT_RUNNING, duration_text, soon_threshold
from app.services.queries.roster import OPEN_TASK_COLUMNS, OpenTask, Roster, as_open_tasks

log = logging.getLogger("certcopy.timers")

BATCH = 200
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
DUE_SOON_HOURS = 1.0
MAX_ERRORS = 50
DUE_SOON_TEMPLATE = "Hồ sơ {code} sắp đến hạn xử lý: còn {left} làm việc (hạn {due})."


def backoff(attempts: int) -> timedelta:
    """Wait before retry number `attempts` (1, 2, …): 30 s, 1 min, 2 min, … at most 1 h."""
    return min(BACKOFF_BASE * (2 ** min(max(attempts - 1, 0), 20)), BACKOFF_MAX)


@dataclass
class TickReport:
    now: datetime
    fired: int = 0       # dossiers whose due timers ran
    failed: int = 0      # dossiers whose step failed (retried later)
    skipped: int = 0     # held by another scheduler, or no longer due once locked
    due_soon: int = 0    # due-soon notices sent
    jobs: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # the first MAX_ERRORS, for logs and the API

    def error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text[:500])

    def summary(self) -> str:
        jobs = "".join(f", {name}: {n}" for name, n in self.jobs.items())
        return (f"{self.fired} dossier(s) had due timers, {self.failed} failed (will retry), "
                f"{self.skipped} skipped, {self.due_soon} due-soon notice(s){jobs}")


# -- locking ------------------------------------------------------------------------------------------------

# The dossier with its open tasks, built once: a statement object keeps its cache key, so each run skips both
# building the query and computing that key.
_DOSSIER_WITH_TASKS = (
    select(Dossier, *OPEN_TASK_COLUMNS).outerjoin(HumanTask, HumanTask.dossier_id == Dossier.id)
    .outerjoin(User, User.id == HumanTask.assignee_id).where(Dossier.code == bindparam("code"))
    .options(lazyload(Dossier.agency)).execution_options(populate_existing=True))
_LOCK_IF_FREE = _DOSSIER_WITH_TASKS.with_for_update(of=Dossier, skip_locked=True)


def lock_if_free(session: Session, code: str) -> tuple[Dossier, list[OpenTask]] | None:
    """Lock a dossier for scheduled work and read its open tasks in the same query. None when it is gone or,
    on PostgreSQL, another transaction holds it (SKIP LOCKED: another scheduler is on it). SQLite has one
    writer at a time: wait for it."""
    if session.get_bind().dialect.name == "sqlite":
        if not take_sqlite_write_lock(session, code):
            return None
        query = _DOSSIER_WITH_TASKS
    else:
        query = _LOCK_IF_FREE
    rows = session.execute(query, {"code": code}).all()
    if not rows:
        return None
    return rows[0][0], as_open_tasks(row[1:] for row in rows)


def _retry_allowed(now: datetime):
    return or_(Dossier.timer_retry_at.is_(None), Dossier.timer_retry_at <= now)


def _record_failure(system, code: str, now: datetime, exc: BaseException) -> None:
    """In a fresh transaction: count the attempt and set when to retry."""
    try:
        with unit_of_work(system) as session:
            dossier = lock_dossier(session, code)
            if dossier is None:
                return
            _count_attempt(dossier, now, f"{type(exc).__name__}: {exc}")
            log.warning("scheduled work for %s failed (attempt %d, retry at %s): %s", code,
                        dossier.timer_attempts, dossier.timer_retry_at.isoformat(), dossier.timer_error)
    except Exception:  # the failure itself could not be recorded: the next tick simply tries again
        log.exception("could not record the timer failure of %s", code)


def _count_attempt(dossier: Dossier, now: datetime, error: str) -> None:
    dossier.timer_attempts = (dossier.timer_attempts or 0) + 1
    dossier.timer_retry_at = now + backoff(dossier.timer_attempts)
    dossier.timer_error = error[:500]


def _clear_failure(dossier: Dossier) -> None:
    if dossier.timer_attempts or dossier.timer_retry_at or dossier.timer_error:
        dossier.timer_attempts, dossier.timer_retry_at, dossier.timer_error = 0, None, None


# -- BPMN timers ---------------------------------------------------------------------------------------------

def due_timer_batch(session: Session, now: datetime, after: tuple[datetime, int] | None = None,
                    limit: int = BATCH) -> list[tuple[str, datetime, int]]:
    """(code, next_timer_at, id) of dossiers whose next timer is due, in (next_timer_at, id) order. Due means
    strictly before `now`, as SpiffWorkflow decides when a timer has fired."""
    query = select(Dossier.code, Dossier.next_timer_at, Dossier.id).where(Dossier.next_timer_at < now,
                                                                          _retry_allowed(now))
    if after is not None:
        at, last_id = after
        query = query.where(or_(Dossier.next_timer_at > at, and_(Dossier.next_timer_at == at, Dossier.id > last_id)))
    return [tuple(r) for r in session.execute(query.order_by(Dossier.next_timer_at, Dossier.id).limit(limit))]


def _timers_due(dossier: Dossier, now: datetime) -> bool:
    return (dossier.next_timer_at is not None and dossier.next_timer_at < now
            and dossier.status not in FINAL_STATUSES
            and (dossier.timer_retry_at is None or dossier.timer_retry_at <= now))


def fire_dossier_timers(system, code: str, now: datetime, roster: Roster | None = None) -> bool:
    """Fire one dossier's due timers in one transaction under its lock. False: skipped (locked, not due).
    A tick passes one `roster` for all its dossiers, so each agency's staff is read once per tick."""
    with unit_of_work(system) as session:
        locked = lock_if_free(session, code)
        if locked is None:
            return False
        dossier, tasks = locked
        if dossier.status in FINAL_STATUSES and dossier.next_timer_at is not None:
            dossier.next_timer_at = None  # a finished workflow waits for nothing
        if not _timers_due(dossier, now):
            return False
        before = dossier.status
        workflow = system.engine.load(dossier)
        ctx = StepContext(session=session, dossier=dossier, actor=None, actor_name="system", role=None, now=now,
                          services=system, roster=roster or Roster(), known_inbox=tasks)
        system.engine.fire_timers(ctx, workflow)
        if dossier.status == "cancelled" and before != "cancelled":
            append_event(session, dossier, at=now, actor="system", role=None, kind="cancelled", data={})
        if dossier.next_timer_at is not None and dossier.next_timer_at < now:
            # SpiffWorkflow did not fire a timer it reports as due (e.g. a bad timer expression in an edited
            # BPMN): keep what did happen, and look again later instead of on every tick.
            _count_attempt(dossier, now, f"hẹn giờ đến hạn lúc {dossier.next_timer_at.isoformat()} không chạy")
        else:
            _clear_failure(dossier)
        return True


def fire_due_timers(system, now: datetime | None = None, report: TickReport | None = None,
                    max_dossiers: int | None = None) -> TickReport:
    """Fire every due timer, batch by batch; a failing dossier is recorded for retry and never stops the rest."""
    now = now or clock.now()
    report = report or TickReport(now)
    cursor, seen, roster = None, 0, Roster()
    while True:
        with system.db.session() as session:
            batch = due_timer_batch(session, now, cursor)
        for code, _, _ in batch:
            try:
                if fire_dossier_timers(system, code, now, roster):
                    report.fired += 1
                else:
                    report.skipped += 1
            except Exception as exc:
                report.failed += 1
                report.error(f"{code}: {type(exc).__name__}: {exc}")
                _record_failure(system, code, now, exc)
        seen += len(batch)
        if len(batch) < BATCH or (max_dossiers is not None and seen >= max_dossiers):
            return report
        cursor = (batch[-1][1], batch[-1][2])


def run_due_timers(system, now: datetime | None = None, limit: int | None = None) -> int:
    """Fire every due BPMN timer; returns how many dossiers moved (scenario replay, older callers)."""
    return fire_due_timers(system, now, max_dossiers=limit).fired


# -- due-soon notices -----------------------------------------------------------------------------------------

def due_soon_candidates(session: Session, now: datetime, hours: float = DUE_SOON_HOURS) -> list[str]:
    """Running dossiers with at most `hours` working hours left by their agency's calendar, not yet told."""
    default, own = calendars_by_agency(session)
    groups: dict[WorkingCalendar, list[int]] = {}
    for agency_id, calendar in own.items():
        groups.setdefault(calendar, []).append(agency_id)
    base = select(Dossier.code, Dossier.due_at, Dossier.agency_id).where(
        Dossier.due_soon_notified_at.is_(None), Dossier.received_at.is_not(None), Dossier.due_at > now,
        Dossier.status.not_in(NOT_RUNNING), Dossier.overdue.is_(False), _retry_allowed(now))
    custom_ids = list(own)
    queries = [(default, base.where(Dossier.due_at <= soon_threshold(default, now, hours),
                                    Dossier.agency_id.not_in(custom_ids) if custom_ids else true()))]
    for calendar, agency_ids in groups.items():
        queries.append((calendar, base.where(Dossier.due_at <= soon_threshold(calendar, now, hours),
                                             Dossier.agency_id.in_(agency_ids))))
    codes = []
    for calendar, query in queries:
        for code, due_at, _ in session.execute(query.order_by(Dossier.due_at)):
            if calendar.working_hours_between(now, due_at) <= hours:
                codes.append(code)
    return codes


def send_due_soon_notice(system, code: str, now: datetime, hours: float = DUE_SOON_HOURS,
                         roster: Roster | None = None) -> bool:
    """Tell the holders of a dossier's current tasks that its deadline is near, once (flag set under the lock)."""
    from app.services.administration.calendars import calendar_for

    with unit_of_work(system) as session:
        locked = lock_if_free(session, code)
        if locked is None:
            return False
        dossier, tasks = locked
        if dossier.due_soon_notified_at is not None or dossier.status in NOT_RUNNING \
                or dossier.due_at is None or dossier.due_at <= now or dossier.overdue \
                or (dossier.timer_retry_at is not None and dossier.timer_retry_at > now):
            return False
        calendar = calendar_for(session, dossier.agency_id)
        left = calendar.working_hours_between(now, dossier.due_at)
        if left > hours:
            return False
        message = DUE_SOON_TEMPLATE.format(code=dossier.code, left=duration_text(left),
                                           due=dossier.due_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y"))
        told = []
        for user_id, username in (roster or Roster()).task_holders(session, dossier.agency_id, tasks):
            queue_insert(session, Notification, user_id=user_id, dossier_id=dossier.id, message=message, created_at=now)
            told.append(username)
        append_event(session, dossier, at=now, actor="system", role=None, kind="notified", task=None,
                     data={"recipient": "task_holder", "template": "due_soon", "to": told,
                           "due_at": dossier.due_at.isoformat(), "working_hours_left": round(left, 4)})
        dossier.due_soon_notified_at = now
        _clear_failure(dossier)
        return True


def send_due_soon_notices(system, now: datetime, report: TickReport | None = None) -> int:
    with system.db.session() as session:
        codes = due_soon_candidates(session, now)
    sent, roster = 0, Roster()
    for code in codes:
        try:
            if send_due_soon_notice(system, code, now, roster=roster):
                sent += 1
            elif report is not None:
                report.skipped += 1
        except Exception as exc:
            if report is not None:
                report.failed += 1
                report.error(f"{code}: {type(exc).__name__}: {exc}")
            _record_failure(system, code, now, exc)
    if report is not None:
        report.due_soon += sent
    return sent


# -- periodic jobs (hook for other features, e.g. appointment reminders the day before) ----------------------

@dataclass(frozen=True)
class PeriodicJob:
    """Work every tick does besides timers. `run(system, now) -> int` (how many things it did) must be safe
    with several schedulers: do each item in its own transaction and use `claim_once` (or a flag set under a
    row lock) so that it happens once. A failing job is retried after a backoff; it never stops the tick."""
    name: str
    run: Callable[..., int]
    every: timedelta = timedelta(0)


_JOBS: dict[str, PeriodicJob] = {}
_JOB_STATE: dict[str, tuple[int, datetime | None]] = {}  # name -> (consecutive failures, not before)


def register_job(name: str, run: Callable[..., int], every: timedelta = timedelta(0)) -> PeriodicJob:
    """Add (or replace) a periodic job, e.g. `register_job("appointment_reminders", send_reminders)`."""
    job = PeriodicJob(name, run, every)
    _JOBS[name] = job
    _JOB_STATE.pop(name, None)
    return job


def unregister_job(name: str) -> None:
    _JOBS.pop(name, None)
    _JOB_STATE.pop(name, None)


def registered_jobs() -> list[PeriodicJob]:
    return list(_JOBS.values())


def claim_once(session: Session, key: str, now: datetime) -> bool:
    """Claim a piece of scheduled work inside the caller's transaction; False when it was already claimed
    (by this or another scheduler). Commit the claim together with the work it stands for."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(SchedulerClaim).values(key=key[:200], claimed_at=now).on_conflict_do_nothing(
        index_elements=[SchedulerClaim.key]).returning(SchedulerClaim.key)
    return session.execute(stmt).scalar_one_or_none() is not None


def run_periodic_jobs(system, now: datetime, report: TickReport) -> None:
    for job in list(_JOBS.values()):
        failures, not_before = _JOB_STATE.get(job.name, (0, None))
        if not_before is not None and now < not_before:
            continue
        try:
            report.jobs[job.name] = int(job.run(system, now) or 0)
            _JOB_STATE[job.name] = (0, now + job.every if job.every else None)
        except Exception as exc:
            failures += 1
            _JOB_STATE[job.name] = (failures, now + backoff(failures))
            report.error(f"job {job.name}: {type(exc).__name__}: {exc}")
            log.exception("periodic job %s failed (%d in a row)", job.name, failures)


# -- the tick ----------------------------------------------------------------------------------------------------

def tick(system, now: datetime | None = None) -> TickReport:
    """One scheduler tick as of `now` (default: the app clock): timers, due-soon notices, periodic jobs."""
    now = now or clock.now()
    report = TickReport(now)
    fire_due_timers(system, now, report)
    try:
        send_due_soon_notices(system, now, report)
    except Exception as exc:  # e.g. the database went away mid-query: the next tick tries again
        report.error(f"due-soon: {type(exc).__name__}: {exc}")
        log.exception("due-soon notices failed")
    run_periodic_jobs(system, now, report)
    return report
