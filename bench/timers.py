"""Timer tick benchmark: the time of one scheduler tick with many waiting dossiers of which a few are due,
against the same tick with few waiting dossiers. The due dossiers are found through the indexed
`next_timer_at`, so the number of waiting dossiers must not matter. Targets: ratio <= 1.5, tick < 50 ms.
Also printed, measured in the same run: the floor, SpiffWorkflow alone firing the same timers in memory (load
each workflow state, refresh its timers, run the engine steps with service tasks that do nothing, serialize),
and the tick as a multiple of it, which does not depend on how fast the machine is.

    python bench/timers.py [--waiting 100000] [--baseline 1000] [--due 10] [--repeat 9]

SQLite in temporary instances by default; with DATABASE_URL=postgresql+psycopg://…/NAME it runs on that
PostgreSQL server in two fresh databases NAME_small and NAME_large (created, then dropped). Both databases are
built first and the measured ticks alternate between them, so load from other work on the machine affects
both alike. The waiting dossiers are bulk-copied rows of one real dossier filed and
received through the API: the due ones are full copies (workflow state with fresh task ids, inbox rows) that
the tick really fires; the others only wait (their state is not loaded by a tick, so it is left short).
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from app.engine import state  # noqa: E402
from app.adapters.models import Dossier, HumanTask

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SKIP_COLUMNS = {"id", "code", "idempotency_key"}
CHUNK = 2000


def _row_values(dossier: Dossier) -> dict:
    return {c.key: getattr(dossier, c.key) for c in Dossier.__table__.columns if c.key not in SKIP_COLUMNS}


def clone_dossiers(system, template_code: str, count: int, prefix: str, full: bool = True,
                   next_timer_at: datetime | None = None, due_at: datetime | None = None,
                   spread: timedelta | None = None) -> list[str]:
    """Bulk-copy one dossier `count` times (codes `<prefix>-000001`, …) with no history (fresh event chain).

    full=True: each copy gets the workflow state with fresh task ids and its own inbox rows, so a tick can
    fire it. full=False: a row that only waits (short state, no inbox rows). `spread` shifts the i-th copy's
    next_timer_at and due_at by i * spread / count."""
    with system.db.session() as session:
        template = session.scalar(select(Dossier).where(Dossier.code == template_code))
        values = _row_values(template)
        tasks = session.scalars(select(HumanTask).where(HumanTask.dossier_id == template.id)).all()
        task_rows = [{c.key: getattr(t, c.key) for c in HumanTask.__table__.columns} for t in tasks]
    state = values["workflow_state"]
    ids = sorted(set(UUID_RE.findall(state))) if full else []
    values.update(event_seq=0, event_head="", lock_version=0)
    if not full:
        values["workflow_state"] = "{}"
    base_timer = next_timer_at or values["next_timer_at"]
    base_due = due_at or values["due_at"]
    codes = []
    with system.db.session() as session, session.begin():
        for start in range(0, count, CHUNK):
            batch, states = [], []
            for i in range(start, min(count, start + CHUNK)):
                shift = spread * i / count if spread else timedelta(0)
                code = f"{prefix}-{i + 1:06d}"
                row = dict(values, code=code, idempotency_key=None,
                           next_timer_at=base_timer + shift if base_timer else None,
                           due_at=base_due + shift if base_due else None)
                if full:
                    mapping = {old: str(uuid.uuid4()) for old in ids}
                    row["workflow_state"] = UUID_RE.sub(lambda m: mapping.get(m.group(0), m.group(0)), state)
                    states.append(mapping)
                batch.append(row)
                codes.append(code)
            session.execute(insert(Dossier), batch)
            if full and task_rows:
                new_ids = dict(session.execute(select(Dossier.code, Dossier.id)
                                               .where(Dossier.code.in_([r["code"] for r in batch]))).all())
                inbox = [dict(t, id=mapping[t["id"]], dossier_id=new_ids[row["code"]])
                         for row, mapping in zip(batch, states) for t in task_rows]
                session.execute(insert(HumanTask), inbox)
    return codes


def make_template(app, moment: datetime, agency: str = "pcc1") -> str:
    """File one dossier and accept it at intake at `moment`: its deadline timer waits (the 15:00 rule)."""
    from app import clock
    from app.replay import make_pdf

    client = app.test_client()
    tokens = {}

    def auth(user):
        if user not in tokens:
            tokens[user] = client.post("/api/v1/auth/token", json={"username": user, "password": "demo"}).get_json()["token"]
        return {"Authorization": f"Bearer {tokens[user]}"}

    import io
    clock.set_global(moment)
    try:
        resp = client.post("/api/v1/dossiers", headers=auth("citizen"), data={
            "agency": agency, "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
            "delivery": "online", "payment": "counter", "declaration": "true",
            "original": (io.BytesIO(make_pdf(2)), "ban-chinh.pdf")})
        code = resp.get_json()["code"]
        tasks = client.get("/api/v1/tasks?name=intake", headers=auth(f"one_stop.{agency}")).get_json()
        task = next(t for t in tasks if t["dossier"] == code)
        done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=auth(f"one_stop.{agency}"),
                           json={"data": {"decision": "accept"}})
        assert done.status_code == 200, done.get_json()
    finally:
        clock.set_global(None)
    return code


class FloorEngine(PythonScriptEngine):
    """Raw SpiffWorkflow: service tasks do nothing and return nothing."""

    def call_service(self, task, operation_name=None, operation_params=None, **_):
        return "null"


def floor_tick(parsed, workflow_state: str, due: int) -> float:
    """SpiffWorkflow alone firing `due` deadline timers in memory: each workflow state loaded, its timers
    refreshed, the engine steps run (flag, notify, notify holders), serialized again."""
    engine = FloorEngine()
    start = time.perf_counter()
    for _ in range(due):
        workflow = state.load(workflow_state, parsed.spec, parsed.subprocess_specs, engine)
        workflow.refresh_timers()
        workflow.do_engine_steps()
        state.dump(workflow)
    elapsed = time.perf_counter() - start
    done = {t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)}
    if "flag_overdue_task" not in done:
        raise SystemExit("the floor did not fire the deadline timer")
    return elapsed


class Setup:
    """One database with `waiting` dossiers whose timers wait, and a template to copy due dossiers from."""

    def __init__(self, settings, waiting: int, due: int, now: datetime, label: str):
        from sqlalchemy import update

        from app import create_app
        from app.bootstrap import prepare_system
        from app.domain.calendar import VN_TZ

        self.system = prepare_system(settings, demo=True)
        self.template = make_template(create_app(system=self.system), datetime(2026, 11, 23, 9, 0, tzinfo=VN_TZ))
        self.due, self.now, self.label, self.waiting, self.runs = due, now, label, waiting, 0
        with self.system.db.session() as session, session.begin():  # the template only serves as a copy source
            self.timer_at, self.due_at = session.execute(select(Dossier.next_timer_at, Dossier.due_at)
                                                         .where(Dossier.code == self.template)).one()
            session.execute(update(Dossier).where(Dossier.code == self.template).values(next_timer_at=None))
            template = session.scalar(select(Dossier).where(Dossier.code == self.template))
            self.workflow_state, self.parsed = template.workflow_state, self.system.engine.parsed(template)
        # Waiting dossiers whose timers are days to weeks away (not even due soon).
        clone_dossiers(self.system, self.template, waiting - due, f"W{label}", full=False,
                       next_timer_at=now + timedelta(days=3), due_at=now + timedelta(days=3),
                       spread=timedelta(days=30))
        if self.system.db.engine.dialect.name == "postgresql":  # as autovacuum would after a bulk load
            with self.system.db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")

    def one_tick(self) -> float:
        """Copy `due` fresh due dossiers in, then time one tick that must fire exactly those."""
        from app.services.timers import tick

        clone_dossiers(self.system, self.template, self.due, f"D{self.label}R{self.runs}", full=True,
                       next_timer_at=self.timer_at, due_at=self.due_at)
        self.runs += 1
        start = time.perf_counter()
        report = tick(self.system, self.now)
        elapsed = time.perf_counter() - start
        if report.fired != self.due or report.failed:
            raise SystemExit(f"tick fired {report.fired} of {self.due} ({report.errors})")
        return elapsed

    def still_waiting(self) -> int:
        with self.system.db.session() as session:
            return session.scalar(select(func.count(Dossier.id)).where(Dossier.next_timer_at.is_not(None)))


def _database_settings(tmp: Path, name: str):
    """Settings for a fresh database: a SQLite file, or (DATABASE_URL on PostgreSQL) `<db>_<name>`, wiped."""
    from app.config import Settings

    settings = Settings.load(tmp / name)
    if settings.database_url.startswith("sqlite"):
        return settings, None
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    dbname = f"{url.database}_{name}"
    with psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                         password=url.password, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    settings.database_url = url.set(database=dbname).render_as_string(hide_password=False)
    return settings, dbname


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--due", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    from app.domain.calendar import VN_TZ

    now = datetime(2026, 11, 23, 15, 30, tzinfo=VN_TZ)  # the template (received Monday 09:00) was due at 15:00
    with tempfile.TemporaryDirectory() as tmp:
        small_settings, small_db = _database_settings(Path(tmp), "small")
        large_settings, large_db = _database_settings(Path(tmp), "large")
        small = Setup(small_settings, args.baseline, args.due, now, "small")
        large = Setup(large_settings, args.waiting, args.due, now, "large")
        small.one_tick(), large.one_tick()  # warm up: parsed BPMN, calendars, connections
        floor_tick(small.parsed, small.workflow_state, args.due)
        times = {"small": [], "large": [], "floor": []}
        for _ in range(args.repeat):  # alternate, so a machine whose load changes affects all alike
            times["small"].append(small.one_tick())
            times["floor"].append(floor_tick(small.parsed, small.workflow_state, args.due))
            times["large"].append(large.one_tick())
        rows = [(small.waiting, small.still_waiting(), times["small"]),
                (large.waiting, large.still_waiting(), times["large"])]
        dialect = small.system.db.engine.dialect.name
        for setup in (small, large):
            setup.system.db.engine.dispose()
        if small_db:
            _drop(small_settings, small_db), _drop(large_settings, large_db)
    print(f"database: {dialect}; {args.due} due timers per tick, median of {args.repeat} alternating ticks")
    print(f"{'waiting':>9}{'still waiting':>15}{'tick ms':>10}{'best ms':>10}{'ratio':>8}{'x floor':>9}   "
          f"target: ratio<=1.5, tick<50 ms")
    base, floor = statistics.median(rows[0][2]), statistics.median(times["floor"])
    for waiting, still, samples in rows:
        median = statistics.median(samples)
        print(f"{waiting:>9}{still:>15}{median * 1000:>10.1f}{min(samples) * 1000:>10.1f}{median / base:>8.2f}"
              f"{median / floor:>9.1f}")
    print(f"floor: SpiffWorkflow alone firing the same {args.due} timers in memory, {floor * 1000:.1f} ms "
          f"(best {min(times['floor']) * 1000:.1f} ms)")


def _drop(settings, dbname: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    with psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                         password=url.password, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
