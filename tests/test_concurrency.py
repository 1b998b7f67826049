"""Two people click at once: exactly one wins, the rest get 409, one event is written."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.adapters.models import Event


def test_twenty_threads_complete_the_same_task(app, api, system):
    code = api.file_dossier().get_json()["code"]
    task = api.task_for("one_stop.pcc1", code, "intake")
    token = api.login("one_stop.pcc1")
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def click():
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "accept"}},
                           headers={"Authorization": f"Bearer {token}"})
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=click) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 19
    with system.db.session() as session:
        completed = session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "task_completed", Event.task == "intake"))
    assert completed == 1
    assert api.get(f"/dossiers/{code}", "auditor").get_json()["status"] == "processing"
