"""Inbox benchmark: p50/p95 time to render the staff inbox page and to answer GET /api/v1/tasks with 1,000 and
with 100,000 dossiers in the database, on SQLite and on PostgreSQL; prints the ratio 100k/1k.
Targets: ratio <= 1.5, p95 < 100 ms at 100k.

The data is generated in bulk SQL (not through the engine): dossiers spread over the three demo agencies and
two years; the office's workload is the same at both sizes — 450 dossiers in flight with one READY task each
(~50 in one_stop.pcc1's inbox: two pages, a full API page) — and every other dossier is finished, so what
grows is the history the inbox must not read; two notifications per dossier, unread only for dossiers in
flight. Requests go through the Flask app (test client, no network) as one_stop.pcc1, whose inbox is the
largest. PostgreSQL is ANALYZEd after the load (autovacuum would do it); SQLite is not (the app never does).
Also printed: what each badge costs, and the SQL statements and connection checkouts of each request.

    python bench/inbox.py [--sizes 1000,100000] [--backends sqlite,postgresql] [--runs 200] [--open 450]
    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres (default) names the server to use.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.bootstrap import prepare_system  # noqa: E402
from app.config import Settings  # noqa: E402
from app.engine.runtime import STATUS_BY_TASK  # noqa: E402
from app.adapters.models import Agency, Dossier, HumanTask, Notification, ProcessVersion, User, UserRole

OPEN_TASKS = 450
BATCH = 5000
TITLES = {"intake": "Tiếp nhận hồ sơ", "assign": "Phân công người ký", "handle": "Xử lý hồ sơ",
          "review_sign": "Ký duyệt bản sao", "rework": "Xử lý hồ sơ bị trả lại",
          "seal": "Đóng dấu, cấp số chứng thực", "return": "Trả kết quả"}
TASKS = {"province": ["intake", "assign", "review_sign", "seal", "return", "rework"],
         "district": ["intake", "assign", "review_sign", "seal", "return", "rework"],
         "commune": ["intake", "handle", "review_sign", "seal", "return", "rework"]}
ROLE_OF = {"intake": "one_stop", "return": "one_stop", "assign": "leader", "handle": "justice_officer",
           "review_sign": "signer", "seal": "clerk"}
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Vũ Thị Giang",
         "Đặng Văn Hùng", "Bùi Thị Lan", "Đỗ Văn Minh", "Hồ Thị Ngọc", "Ngô Văn Phúc", "Dương Thị Quỳnh"]
DOCUMENTS = ["Giấy khai sinh", "Bằng tốt nghiệp", "Học bạ", "Sổ hộ khẩu", "Giấy chứng nhận kết hôn"]


# -- databases -----------------------------------------------------------------------------------------------
def pg_admin_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pg_database(name: str) -> str | None:
    """A fresh PostgreSQL database `name`; None when no server answers."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(pg_admin_url())
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - report and skip the backend
        print(f"# PostgreSQL unavailable ({exc.__class__.__name__}: {exc}); skipping it", file=sys.stderr)
        return None
    return url.set(database=name).render_as_string(hide_password=False)


def pg_drop(name: str) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# -- data ------------------------------------------------------------------------------------------------
def generate(system, size: int, open_tasks_wanted: int = OPEN_TASKS, seed: int = 7) -> int:
    """Insert `size` dossiers (and their inbox rows and notifications) in bulk. Returns the open tasks."""
    rng = random.Random(seed)
    now = clock.now()
    with system.db.session() as session:
        agencies = session.scalars(select(Agency).order_by(Agency.id)).all()
        versions = {v.variant: v.id for v in session.scalars(select(ProcessVersion).where(ProcessVersion.active))}
        staff = {}
        for user_id, agency_id, role in session.execute(
                select(User.id, User.agency_id, UserRole.role).join(UserRole).where(User.agency_id.is_not(None))):
            staff.setdefault((agency_id, role), user_id)
        citizen = session.scalar(select(User.id).where(User.username == "citizen"))
        start_id = (session.scalar(select(Dossier.id).order_by(Dossier.id.desc()).limit(1)) or 0) + 1
    dossiers, tasks, notes = [], [], []
    open_tasks = 0

    def flush(final=False):
        if final or len(dossiers) >= BATCH:
            with system.db.session() as session, session.begin():
                if dossiers:
                    session.execute(insert(Dossier.__table__), dossiers)
                if tasks:
                    session.execute(insert(HumanTask.__table__), tasks)
                if notes:
                    session.execute(insert(Notification.__table__), notes)
            dossiers.clear()
            tasks.clear()
            notes.clear()

    span = timedelta(days=730)
    in_flight_ids = set(rng.sample(range(size), min(size, open_tasks_wanted)))
    for n in range(size):
        dossier_id = start_id + n
        agency = agencies[n % len(agencies)]
        variant = agency.level
        submitted = now - span * (1 - n / size) - timedelta(minutes=rng.randint(0, 600))
        in_flight = n in in_flight_ids
        if in_flight:
            submitted = now - timedelta(hours=rng.randint(1, 72))
            due = now + timedelta(hours=rng.randint(-48, 72), minutes=rng.randint(0, 59))
            task = rng.choice(TASKS[variant])
            status = STATUS_BY_TASK[task]
            finished = None
        else:
            due = submitted + timedelta(hours=rng.randint(4, 30))
            status = rng.choices(["returned", "refused", "cancelled"], weights=[90, 6, 4])[0]
            finished = due - timedelta(hours=1)
            task = None
        with_account = rng.random() < 0.7
        name = rng.choice(NAMES)
        code = f"{agency.code}-{submitted:%y%m%d}-{n:06d}"
        dossiers.append(dict(
            id=dossier_id, code=code, agency_id=agency.id, procedure="2.000815",
            document_type=rng.choice(DOCUMENTS), copies=1, delivery="online" if with_account else "email",
            payment="counter", applicant_id=citizen if with_account else None,
            applicant_name=name if with_account else f"khach{n}@example.vn",
            applicant_email=None if with_account else f"khach{n}@example.vn",
            created_by_id=staff[(agency.id, "one_stop")], status=status, variant=variant,
            process_version_id=versions[variant], workflow_state="", pages=2, fee_amount=4000,
            fee_paid=status == "returned", submitted_at=submitted, received_at=submitted, due_at=due,
            overdue=bool(in_flight and due < now), next_timer_at=due if in_flight else None, finished_at=finished,
            original_sha256="0" * 64, event_seq=0, event_head="", lock_version=0))
        if in_flight:
            role = ROLE_OF.get(task) or ("justice_officer" if variant == "commune" else "leader")
            tasks.append(dict(id=str(uuid.UUID(int=rng.getrandbits(128))), dossier_id=dossier_id, name=task,
                              title=TITLES[task], role=role, agency_id=agency.id, citizen_id=None,
                              assignee_id=staff.get((agency.id, "signer")) if task == "review_sign" else None,
                              created_at=submitted, due_at=due))
            open_tasks += 1
        for role in ("one_stop", "signer"):
            user_id = staff.get((agency.id, role))
            if user_id:
                notes.append(dict(user_id=user_id, dossier_id=dossier_id, created_at=submitted,
                                  message=f"Hồ sơ {code}: có việc chờ xử lý — {TITLES['intake']}.",
                                  read_at=None if in_flight else submitted + timedelta(hours=1)))
        flush()
    flush(final=True)
    with system.db.engine.begin() as conn:
        if system.db.engine.dialect.name == "postgresql":
            for table in ("dossiers", "notifications"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
    return open_tasks


# -- measuring -------------------------------------------------------------------------------------------
def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def timed_pair(calls: list, runs: int) -> list[tuple[float, float]]:
    """p50/p95 of each call, measured in alternation so that load on a shared machine hits all of them alike."""
    for _ in range(max(10, runs // 10)):  # warm up: caches, pools, template compilation
        for call in calls:
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for i, call in enumerate(calls):
            start = time.perf_counter()
            call()
            samples[i].append((time.perf_counter() - start) * 1000)
    return [percentiles(s) for s in samples]


def requests_for(system, username: str = "one_stop.pcc1") -> dict:
    """The timed requests against one instance, as `username` (page session and API token)."""
    app = create_app(system=system)
    page_client = app.test_client()
    html = page_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = page_client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    assert resp.status_code == 302, resp.status_code
    api_client = app.test_client()
    bearer = api_client.post("/api/v1/auth/token", json={"username": username, "password": "demo"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {bearer}"}

    def get(client, path, **kw):
        def call():
            response = client.get(path, **kw)
            assert response.status_code == 200, (path, response.status_code)
        return call

    def without_other_badges(call):
        """The same request with only the staff menus' badges (this issue's), the others' counts left out."""
        from dataclasses import replace

        from app.web.common import menu

        def wrapped():
            saved = list(menu._ENTRIES)
            menu._ENTRIES[:] = [e if e.endpoint.startswith("staff") else replace(e, count=None, badge=None)
                                for e in saved]
            try:
                call()
            finally:
                menu._ENTRIES[:] = saved
        return wrapped

    return {"inbox page /staff/": get(page_client, "/staff/"),
            "  same, staff badges only": without_other_badges(get(page_client, "/staff/")),
            "queue page /staff/queue/intake": get(page_client, "/staff/queue/intake"),
            "GET /api/v1/tasks": get(api_client, "/api/v1/tasks", headers=headers)}


def badge_costs(system, username: str = "one_stop.pcc1", runs: int = 20) -> list[tuple[str, float]]:
    """Median ms of each badge the user sees (menu and top bar) read on its own, and of all of them read together
    as a page does (one service call)."""
    from app.services.queries.badges import badge_counts
    from app.web.common import menu

    app = create_app(system=system)
    with system.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        _ = user.roles, user.agency

    def median_ms(call) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            call()
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples)

    out, keys = [], []
    with app.test_request_context():
        for entry in sorted(menu._ENTRIES, key=lambda e: e.order):
            if not any(user.has_role(r) for r in entry.roles):
                continue
            if entry.badge:
                keys.append(entry.badge)
                out.append((entry.label, median_ms(lambda k=entry.badge: badge_counts(system, user, [k], clock.now()))))
            elif entry.count:
                out.append((entry.label, median_ms(lambda c=entry.count: c(user))))
        for key in menu._TOP_BAR:
            keys.append(key)
            out.append((f"top bar: {key}", median_ms(lambda k=key: badge_counts(system, user, [k], clock.now()))))
        out.append(("all together", median_ms(lambda: badge_counts(system, user, keys, clock.now()))))
    return out


def statements_per_request(inst) -> dict[str, tuple[int, int]]:
    """SQL statements and pool checkouts of one (warm) call of each timed request."""
    from sqlalchemy import event

    engine = inst.system.db.engine
    counts = {"sql": 0, "checkout": 0}

    def on_sql(*_args):
        counts["sql"] += 1

    def on_checkout(*_args):
        counts["checkout"] += 1

    event.listen(engine, "before_cursor_execute", on_sql)
    event.listen(engine, "checkout", on_checkout)
    out = {}
    try:
        for name, call in inst.requests.items():
            call()
            counts.update(sql=0, checkout=0)
            call()
            out[name] = (counts["sql"], counts["checkout"])
    finally:
        event.remove(engine, "before_cursor_execute", on_sql)
        event.remove(engine, "checkout", on_checkout)
    return out


def inbox_plan(system) -> str:
    """The plan of the inbox page's main query at this size (evidence of the index range scan)."""
    from app.services.queries.inbox import InboxFilter, part_query

    with system.db.session() as session:
        user = session.scalar(select(User).where(User.username == "one_stop.pcc1"))
        _ = user.roles
        stmt = part_query(user, "one_stop", None, InboxFilter(), clock.now(), 26)
        compiled = stmt.compile(system.db.engine)
        conn = session.connection()
        if system.db.engine.dialect.name == "sqlite":
            params = tuple(compiled.params[k] for k in compiled.positiontup)
            params = tuple(UTC_BIND(v) for v in params)
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
            return " | ".join(str(r[-1]) for r in rows if "human_tasks" in str(r[-1]) or "ORDER BY" in str(r[-1]))
        rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
        return " | ".join(r[0].strip() for r in rows if "human_tasks" in r[0] or "Sort" in r[0] or "Limit" in r[0])


def UTC_BIND(value):  # noqa: N802 - SQLite stores UTC datetimes without offset
    from datetime import datetime, timezone

    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ")
    return value


class Instance:
    """One benchmark database of a given size on a backend, with its generated data."""

    def __init__(self, backend: str, size: int, open_tasks_wanted: int):
        self.backend, self.size = backend, size
        self.tmp = tempfile.TemporaryDirectory()
        self.pg_name = None
        overrides = {}
        if backend == "postgresql":
            self.pg_name = f"certcopy_bench_inbox_{os.getpid()}_{size}"
            url = pg_database(self.pg_name)
            if url is None:
                raise LookupError("no PostgreSQL")
            overrides["database_url"] = url
        self.system = prepare_system(Settings.load(Path(self.tmp.name) / "instance", **overrides), demo=True)
        started = time.perf_counter()
        self.open_tasks = generate(self.system, size, open_tasks_wanted)
        print(f"# {backend}: {size} dossiers generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        self.requests = requests_for(self.system)

    def close(self) -> None:
        self.system.db.engine.dispose()
        if self.pg_name:
            pg_drop(self.pg_name)
        self.tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--open", type=int, default=OPEN_TASKS, help="dossiers in flight (open tasks)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    table: dict[tuple[str, int], dict] = {}
    plans: dict[tuple[str, int], str] = {}
    costs: dict[tuple[str, int], list] = {}
    statements: dict[tuple[str, int], dict] = {}
    print(f"{'backend':<11}{'dossiers':>9}{'open tasks':>11}  {'request':<32}{'p50 ms':>8}{'p95 ms':>8}")
    for backend in args.backends.split(","):
        try:
            instances = [Instance(backend, size, args.open) for size in sizes]
        except LookupError:
            continue
        try:
            names = list(instances[0].requests)
            for name in names:
                results = timed_pair([inst.requests[name] for inst in instances], args.runs)
                for inst, (p50, p95) in zip(instances, results, strict=True):
                    table.setdefault((backend, inst.size), {})[name] = (p50, p95)
            for inst in instances:
                plans[(backend, inst.size)] = inbox_plan(inst.system)
                statements[(backend, inst.size)] = statements_per_request(inst)
                costs[(backend, inst.size)] = badge_costs(inst.system)
                for name in names:
                    p50, p95 = table[(backend, inst.size)][name]
                    print(f"{backend:<11}{inst.size:>9}{inst.open_tasks:>11}  {name:<32}{p50:>8.1f}{p95:>8.1f}",
                          flush=True)
        finally:
            for inst in instances:
                inst.close()
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        label = f"{large // 1000}k/{small // 1000}k"
        print(f"\nratio {label} (target <= 1.5; p95 at {large // 1000}k < 100 ms)")
        head = f"p95 {large // 1000}k"
        print(f"{'backend':<11}{'request':<32}{'p50 ratio':>10}{'p95 ratio':>10}{head:>10}")
        for backend in args.backends.split(","):
            if (backend, small) not in table or (backend, large) not in table:
                continue
            for name in table[(backend, small)]:
                (s50, s95), (l50, l95) = table[(backend, small)][name], table[(backend, large)][name]
                verdict = "ok" if l95 / s95 <= 1.5 and l95 < 100 else "MISSED"
                print(f"{backend:<11}{name:<32}{l50 / s50:>10.2f}{l95 / s95:>10.2f}{l95:>10.1f}  {verdict}")
    print("\nmenu badges on the page (median ms, one_stop.pcc1):")
    for (backend, size), rows in costs.items():
        print(f"  {backend} {size}: " + ", ".join(f"{label} {ms:.1f}" for label, ms in rows))
    print("\nSQL statements / connection checkouts per request:")
    for (backend, size), rows in statements.items():
        print(f"  {backend} {size}: " + ", ".join(f"{name.strip()} {n}/{c}" for name, (n, c) in rows.items()))
    print("\nplan of the inbox query (one_stop.pcc1, first page):")
    for (backend, size), plan in plans.items():
        print(f"  {backend} {size}: {plan}")


if __name__ == "__main__":
    main()
