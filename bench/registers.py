"""Register benchmark: seals per second into ONE register with 1, 4 and 16 concurrent clients on PostgreSQL,
through the JSON API (Flask test clients in up to 4 worker processes, each with its own System and connection
pool, as separate gunicorn workers would be). The seals of one register are serialised by its row lock (the number is
printed on the copy, so it must be taken before signing and no number may be lost): the floor is raw pyHanko
sealing the same attested PDF in a loop in this process, one at a time. Prints throughput, the ratio to the floor
and the gaps and duplicates found in the register afterwards (must be 0).

    python bench/registers.py [SEALS_PER_RUN]        (default 48; BENCH_DATABASE_URL to choose the server)
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import signing  # noqa: E402
from app import create_app  # noqa: E402
from app.bootstrap import prepare_system  # noqa: E402
from app.config import Settings  # noqa: E402
from app.adapters.models import Agency, Dossier, HumanTask
from tests.test_registers_concurrency import (  # noqa: E402
    PIN,
    new_register,
    numbering_faults,
    prepare_awaiting_seal,
)

CLIENTS = (1, 4, 16)
WORKERS = 4
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/certcopy_bench_registers"


def fresh_database(url: str) -> None:
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username or "postgres",
                         password=parsed.password, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def drop_database(url: str) -> None:
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username or "postgres",
                         password=parsed.password, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def seal_tasks(system, codes: list[str]) -> list[str]:
    with system.db.session() as session:
        rows = dict(session.execute(select(Dossier.code, HumanTask.id)
                                    .join(HumanTask, HumanTask.dossier_id == Dossier.id)
                                    .where(Dossier.code.in_(codes), HumanTask.name == "seal")).all())
    return [rows[c] for c in codes]


def _client_process(instance: str, url: str, token: str, register_id: int, clients: int, work, ready, results) -> None:
    """One worker process (its own System and pool, like a gunicorn worker) running `clients` client threads,
    each taking the next seal task from the shared queue until none is left."""
    from app.system import System

    system = System(Settings.load(instance, database_url=url))
    app = create_app(system=system)
    failures: list = []

    def client() -> None:
        http = app.test_client()
        while True:
            try:
                task_id = work.get_nowait()
            except queue.Empty:
                return
            resp = http.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"register": register_id}, "pin": PIN},
                             headers={"Authorization": f"Bearer {token}"})
            if resp.status_code != 200:
                failures.append(resp.get_json())

    threads = [threading.Thread(target=client) for _ in range(clients)]
    app.test_client().get("/api/v1/registers", headers={"Authorization": f"Bearer {token}"})  # warm the pool
    ready.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    system.db.engine.dispose()
    results.put(len(failures))


def run_level(instance: str, url: str, token: str, task_ids: list[str], register_id: int,
              clients: int) -> tuple[float, int]:
    """`clients` concurrent clients spread over up to WORKERS processes; the clock runs from the moment all are
    ready (process start-up is not measured) until the last seal is done."""
    ctx = multiprocessing.get_context("spawn")
    processes = min(clients, WORKERS)
    work, results = ctx.Queue(), ctx.Queue()
    for task_id in task_ids:
        work.put(task_id)
    time.sleep(0.2)  # let the queue's feeder thread flush before the workers read it
    ready = ctx.Barrier(processes + 1)
    procs = [ctx.Process(target=_client_process, args=(instance, url, token, register_id, clients // processes,
                                                       work, ready, results)) for _ in range(processes)]
    for p in procs:
        p.start()
    ready.wait()
    began = time.perf_counter()
    failed = sum(results.get() for _ in procs)
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    return elapsed, failed


def floor_rate(system, attested: bytes, count: int) -> float:
    """Raw pyHanko: the same agency credential, seal image and timestamper, one seal after another."""
    with system.db.session() as session:
        agency = session.scalar(select(Agency).where(Agency.slug == "pcc1"))
        row = system.keys.credential_for(session, kind="seal", agency=agency)
        image = system.files.get(agency.seal_image_sha256)
    credential = system.keys.unlock(row, PIN)
    timestamper = system.keys.timestamper()
    signing.seal(attested, credential, seal_image=image, certification_number=1, register_name="00/2026",
                 certified_on=date.today(), verify_url="http://127.0.0.1/verify/1", timestamper=timestamper)
    began = time.perf_counter()
    for n in range(count):
        signing.seal(attested, credential, seal_image=image, certification_number=n + 1, register_name="00/2026",
                     certified_on=date.today(), verify_url=f"http://127.0.0.1/verify/{n + 1}", timestamper=timestamper)
    return count / (time.perf_counter() - began)


def main(argv: list[str]) -> int:
    per_run = int(argv[1]) if len(argv) > 1 else 48
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    fresh_database(url)
    try:
        with tempfile.TemporaryDirectory(prefix="certcopy-bench-registers-") as folder:
            settings = Settings.load(Path(folder) / "instance", database_url=url)
            system = prepare_system(settings, demo=True)
            print(f"preparing {per_run * len(CLIENTS)} dossiers at awaiting_seal (real engine steps) ...", flush=True)
            batches = [prepare_awaiting_seal(system, per_run) for _ in CLIENTS]
            with system.db.session() as session:
                attested_sha = session.scalar(select(Dossier.attested_sha256).where(Dossier.code == batches[0][0]))
            floor = floor_rate(system, system.files.get(attested_sha), max(16, per_run // 2))
            token = create_app(system=system).test_client().post("/api/v1/auth/token", json={"username": "clerk.pcc1",
                                                                           "password": "demo"}).get_json()["token"]
            print(f"\nseals into one register, PostgreSQL, clients spread over up to {WORKERS} worker processes;\n"
                  f"floor = raw pyHanko seal, sequential: {floor:.1f} seals/s\n")
            print(f"{'clients':>7} {'seals':>6} {'seconds':>8} {'seals/s':>8} {'vs floor':>9} {'failed':>7} "
                  f"{'gaps':>5} {'duplicates':>10}")
            all_clean = True
            for clients, codes in zip(CLIENTS, batches):
                register_id = new_register(system, "pcc1", f"B{clients:02d}/2026", 1)
                elapsed, failed = run_level(str(settings.instance_path), url, token, seal_tasks(system, codes),
                                            register_id, clients)
                numbers, gaps, duplicates = numbering_faults(system, register_id)
                rate = len(numbers) / elapsed
                all_clean &= not gaps and not duplicates and not failed and len(numbers) == len(codes)
                print(f"{clients:>7} {len(numbers):>6} {elapsed:>8.2f} {rate:>8.1f} {rate / floor:>8.2f}x {failed:>7} "
                      f"{len(gaps):>5} {len(duplicates):>10}", flush=True)
            system.db.engine.dispose()
            print("\nnumbering: " + ("no gap, no duplicate" if all_clean else "FAULTS FOUND"))
            return 0 if all_clean else 1
    finally:
        drop_database(url)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
