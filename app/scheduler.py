"""The in-app scheduler: APScheduler runs one timer tick (`app.services.timers.tick`) every few seconds.

Every process that serves the app may run one (each gunicorn worker, each host): ticks are safe to run at
the same time against one database, each timer fires once. Start it with `start_scheduler(system)`, or set
`CERTCOPY_SCHEDULER=on` and every app built by `create_app` starts one (see `bp` below);
`CERTCOPY_TICK_SECONDS` sets the interval (default 5). Without it, `certcopy tick` from cron does the same.
"""
from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Blueprint

from app.domain.calendar import VN_TZ
from app.services.timers import TickReport, tick

log = logging.getLogger("certcopy.scheduler")

DEFAULT_INTERVAL = 5.0
JOB_ID = "certcopy-tick"


class TimerScheduler:
    """A background APScheduler with one interval job: the tick. At most one tick runs at a time per
    process (`max_instances=1`); missed runs are coalesced into one."""

    def __init__(self, system, interval: float = DEFAULT_INTERVAL):
        if interval <= 0:
            raise ValueError("the tick interval must be positive")
        self.system = system
        self.interval = interval
        self.last_report: TickReport | None = None
        self.last_error: str | None = None
        self.ticks = 0
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(timezone=VN_TZ, daemon=True)
        self._scheduler.add_job(self.run_tick, "interval", seconds=interval, id=JOB_ID, max_instances=1,
                                coalesce=True, misfire_grace_time=max(int(interval), 1))

    def run_tick(self, now: datetime | None = None) -> TickReport | None:
        try:
            report = tick(self.system, now)
        except Exception as exc:  # the database is unreachable, …: log it, the next tick tries again
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("timer tick failed")
            return None
        with self._lock:
            self.ticks += 1
            self.last_report, self.last_error = report, None
        if report.fired or report.failed or report.due_soon or any(report.jobs.values()):
            log.info("tick %s: %s", report.now.isoformat(), report.summary())
        return report

    @property
    def running(self) -> bool:
        return self._scheduler.running

    def start(self) -> TimerScheduler:
        if not self._scheduler.running:
            self._scheduler.start()
        return self

    def stop(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def next_run_time(self) -> datetime | None:
        job = self._scheduler.get_job(JOB_ID)
        return job.next_run_time if job else None


def start_scheduler(system, interval: float | None = None) -> TimerScheduler:
    if interval is None:
        interval = float(os.environ.get("CERTCOPY_TICK_SECONDS", DEFAULT_INTERVAL))
    return TimerScheduler(system, interval).start()


def scheduler_enabled() -> bool:
    return os.environ.get("CERTCOPY_SCHEDULER", "").strip().lower() in ("1", "on", "true", "yes")


# Registered by create_app: starts the scheduler for that app when CERTCOPY_SCHEDULER is on (gunicorn
# workers, a host's service), and keeps it in app.extensions["certcopy_scheduler"].
bp = Blueprint("scheduler", __name__)


@bp.record_once
def _start_with_app(state) -> None:
    app = state.app
    if scheduler_enabled() and "certcopy_scheduler" not in app.extensions:
        app.extensions["certcopy_scheduler"] = start_scheduler(app.extensions["certcopy"])
