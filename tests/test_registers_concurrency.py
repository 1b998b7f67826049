"""Numbers beyond doubt: many clerks seal into one register at the same moment, on several workers (separate
System instances: their own connection pools, as separate gunicorn processes would have), and the register's
numbers come out start, start+1, … with no gap and no duplicate; failed seals (wrong PIN) use no number.

`prepare_awaiting_seal` and `seal_concurrently` are shared with bench/registers.py.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

import signing
from app import create_app
from app.config import Settings
from app.adapters.models import Agency, Dossier, HumanTask, Register, RegisterEntry, User
from app.replay import make_pdf
from app.services.dossiers import filing, tasks as dossier_service
from app.system import System
from tests.conftest import requires_pg

PIN = "demo"


def _users(system, *usernames) -> list[User]:
    with system.db.session() as session:
        rows = {u.username: u for u in session.scalars(select(User).where(User.username.in_(usernames)))}
        for user in rows.values():
            _ = user.roles, user.agency
        return [rows[name] for name in usernames]


def _task_id(system, code: str, name: str) -> str:
    with system.db.session() as session:
        return session.scalar(select(HumanTask.id).join(Dossier, HumanTask.dossier_id == Dossier.id)
                              .where(Dossier.code == code, HumanTask.name == name))


@contextlib.contextmanager
def _reused_attestation(attested: bytes | None):
    """While preparing many dossiers: the signer's step runs for real (credential, PIN, stored file, events),
    only the PDF it produces is the one attested PDF made for real for the first dossier."""
    if attested is None:
        yield
        return
    real = signing.attest
    signing.attest = lambda *args, **kwargs: attested
    try:
        yield
    finally:
        signing.attest = real


def prepare_awaiting_seal(system, count: int, slug: str = "pcc1") -> list[str]:
    """`count` province dossiers brought to `awaiting_seal` through the real engine steps (service layer)."""
    citizen, one_stop, leader, signer = _users(system, "citizen", f"one_stop.{slug}", f"leader.{slug}",
                                               f"signer.{slug}")
    pdf = make_pdf(1)
    fields = {"agency": slug, "procedure": "2.000815", "document_type": "Giấy khai sinh", "copies": "1",
              "delivery": "online", "payment": "counter", "declaration": "true"}
    codes = [filing.file_dossier(system, citizen, fields, pdf)[0].code for _ in range(count)]
    for code in codes:
        dossier_service.complete_task(system, one_stop, _task_id(system, code, "intake"), {"decision": "accept"})
        dossier_service.complete_task(system, leader, _task_id(system, code, "assign"), {"signer": signer.username})
    attested = None
    for code in codes:
        with _reused_attestation(attested):
            dossier = dossier_service.complete_task(system, signer, _task_id(system, code, "review_sign"),
                                                    {"decision": "approve"}, PIN)
        assert dossier.status == "awaiting_seal", dossier.status
        if attested is None:
            attested = system.files.get(dossier.attested_sha256)
    return codes


def worker_systems(system, count: int, pool: int) -> list[System]:
    """`count` more Systems on the same instance and database, each with its own pool of `pool` connections."""
    workers = []
    for _ in range(count):
        worker = System(Settings.load(system.settings.instance_path, database_url=system.settings.database_url))
        if not worker.db.is_sqlite:
            worker.db.engine.dispose()
            worker.db.engine = create_engine(system.settings.database_url, pool_size=pool, max_overflow=0,
                                             pool_timeout=600)
            worker.db.sessions = sessionmaker(worker.db.engine, expire_on_commit=False)
        workers.append(worker)
    return workers


@dataclass
class SealRun:
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def seal_concurrently(workers: list[System], codes: list[str], register_id: int, *, clerk: str = "clerk.pcc1",
                      wrong_pin: frozenset[str] = frozenset()) -> SealRun:
    """Every dossier's seal task completed through the JSON API at once (a barrier), spread over the workers."""
    apps = [create_app(system=w) for w in workers]
    token = apps[0].test_client().post("/api/v1/auth/token",
                                       json={"username": clerk, "password": "demo"}).get_json()["token"]
    tasks = {code: _task_id(workers[0], code, "seal") for code in codes}
    barrier = threading.Barrier(len(codes))
    run, lock = SealRun(), threading.Lock()

    def seal(i: int, code: str) -> None:
        client = apps[i % len(apps)].test_client()
        body = {"data": {"register": register_id}, "pin": "sai-ma-pin" if code in wrong_pin else PIN}
        barrier.wait()
        resp = client.post(f"/api/v1/tasks/{tasks[code]}/complete", json=body,
                           headers={"Authorization": f"Bearer {token}"})
        with lock:
            run.statuses[code] = resp.status_code
            if resp.status_code != 200:
                run.errors[code] = (resp.get_json() or {}).get("error", {}).get("code", "")

    threads = [threading.Thread(target=seal, args=(i, code)) for i, code in enumerate(codes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for app in apps:
        app.extensions["certcopy"].db.engine.dispose()
    return run


def numbering_faults(system, register_id: int) -> tuple[list[int], list[int], list[int]]:
    """(numbers given, gaps, duplicates) of a register, from its entries and from the dossiers."""
    with system.db.session() as session:
        register = session.get(Register, register_id)
        numbers = sorted(session.scalars(select(RegisterEntry.number)
                                         .where(RegisterEntry.register_id == register_id)))
        on_dossiers = sorted(session.scalars(select(Dossier.certification_number)
                                             .where(Dossier.register_id == register_id)))
        start, next_number = register.start_number, register.next_number
    expected = list(range(start, next_number))
    gaps = sorted(set(expected) - set(numbers))
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1} | {n for n in on_dossiers
                                                                        if on_dossiers.count(n) > 1})
    if numbers != on_dossiers:
        duplicates = sorted(set(duplicates) | (set(numbers) ^ set(on_dossiers)))
    return numbers, gaps, duplicates


def new_register(system, slug: str, name: str, start: int) -> int:
    from datetime import date
    with system.db.session() as session, session.begin():
        agency = session.scalar(select(Agency).where(Agency.slug == slug))
        register = Register(agency_id=agency.id, name=name, start_number=start, next_number=start,
                            opened_on=date(2000, 1, 1), closes_on=date(2099, 12, 31), closed=False)
        session.add(register)
        session.flush()
        return register.id


def _check_run(system, codes, wrong, register_id, start, run):
    good = [c for c in codes if c not in wrong]
    assert {run.statuses[c] for c in good} == {200}, run.errors
    assert {run.errors[c] for c in wrong} == {"wrong_pin"}
    numbers, gaps, duplicates = numbering_faults(system, register_id)
    assert numbers == list(range(start, start + len(good)))
    assert gaps == [] and duplicates == []
    with system.db.session() as session:
        rows = session.execute(select(Dossier.code, Dossier.status, Dossier.certification_number)
                               .where(Dossier.code.in_(codes))).all()
    for code, status, number in rows:
        if code in wrong:
            assert status == "awaiting_seal" and number is None
        else:
            assert status == "awaiting_return" and number is not None


def test_threaded_seals_number_without_gap(system):
    """The threaded version (SQLite's write lock; on PostgreSQL too when the suite runs there)."""
    codes = prepare_awaiting_seal(system, 22)
    register_id = new_register(system, "pcc1", "07/2026", 500)
    wrong = frozenset(codes[3::10])  # two seals with a wrong PIN among them
    run = seal_concurrently(worker_systems(system, 2, pool=12), codes, register_id, wrong_pin=wrong)
    _check_run(system, codes, wrong, register_id, 500, run)


@requires_pg
def test_two_hundred_concurrent_seals_on_postgresql(system):
    codes = prepare_awaiting_seal(system, 210)
    register_id = new_register(system, "pcc1", "99/2026", 1000)
    wrong = frozenset(codes[5::21])  # ten wrong-PIN seals racing with the 200 good ones
    assert len(codes) - len(wrong) == 200
    run = seal_concurrently(worker_systems(system, 4, pool=6), codes, register_id, wrong_pin=wrong)
    _check_run(system, codes, wrong, register_id, 1000, run)
