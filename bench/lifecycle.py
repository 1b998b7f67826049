"""Lifecycle benchmark: N dossiers through each variant's happy path via the JSON API (Flask test client,
SQLite), against the floor measured in the same process: the same BPMN run by raw SpiffWorkflow in memory
plus the same two signing calls (attest, seal) made directly. Prints both, the ratio, and the serialized
workflow state per returned dossier. Targets: ratio <= 3, state <= 64 KB.

    python bench/lifecycle.py [N]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import signing  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.bootstrap import prepare_system  # noqa: E402
from app.config import Settings  # noqa: E402
from app.engine.definitions import parse_process  # noqa: E402
from app.resources import shipped_process  # noqa: E402
from app.adapters.models import Dossier
from app.replay import Replayer, load_scenario, make_pdf  # noqa: E402

VARIANTS = ("province", "district", "commune")


class FloorEngine(PythonScriptEngine):
    """Raw SpiffWorkflow with the same two signing calls, nothing else."""

    def __init__(self, pdf: bytes, signer, seal_credential, images, timestamper):
        super().__init__()
        self.pdf, self.signer, self.seal_credential = pdf, signer, seal_credential
        self.images, self.timestamper = images, timestamper
        self.attested = None

    def call_service(self, task, operation_name=None, operation_params=None, **_):
        if operation_name == "receive_dossier":
            return json.dumps((datetime.now(timezone.utc) + timedelta(days=30)).isoformat())
        if operation_name == "sign_copy":
            prepared = signing.prepare(self.pdf, "new_page")
            self.attested = signing.attest(prepared, self.signer, full_name="Lý Thị Thu Trang", title="Công chứng viên",
                                           signature_image=self.images[0], timestamper=self.timestamper)
        elif operation_name == "seal_copy":
            signing.seal(self.attested, self.seal_credential, seal_image=self.images[1], certification_number=1,
                         register_name="01/2026", certified_on=date.today(), verify_url="http://127.0.0.1/verify/1",
                         timestamper=self.timestamper)
        return "null"


HAPPY_DATA = {
    "intake": {"decision": "accept", "reason": None},
    "assign": {"signer": "signer"},
    "handle": {"decision": "submit", "note": None},
    "review_sign": {"decision": "approve", "reason": None, "placement": "new_page"},
    "seal": {"register": 1},
    "return": {"fee_paid": True},
}


def floor_run(variant: str, n: int, engine: FloorEngine) -> float:
    parsed = parse_process(shipped_process(variant))
    start = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        for t in wf.get_tasks(state=TaskState.READY):
            t.data.update({"supplement_timeout": "P15D"})
        wf.do_engine_steps()
        while not wf.is_completed():
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(HAPPY_DATA[task.task_spec.name])
            task.run()
            wf.do_engine_steps()
    return (time.perf_counter() - start) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        system = prepare_system(Settings.load(Path(tmp) / "instance"), demo=True)
        app = create_app(system=system)
        pki = signing.load_dev_pki(system.settings.pki_path)
        signer = signing.load_pkcs12(pki.signer_p12["signer.pcc1"].read_bytes(), "demo")
        seal_cred = signing.load_pkcs12(pki.seal_p12["000.17.01.H03"].read_bytes(), "demo")
        images = (signing.make_signature_image("Lý Thị Thu Trang", "Công chứng viên"),
                  signing.make_seal_image("Phòng Công chứng số 1"))
        floor_engine = FloorEngine(make_pdf(2), signer, seal_cred, images, system.keys.timestamper())
        print(f"{'variant':<10}{'N':>4}{'certcopy ms':>14}{'floor ms':>11}{'ratio':>8}{'state KB':>10}  target: ratio<=3, state<=64 KB")
        for variant in VARIANTS:
            scenario = load_scenario(f"{variant}_happy")
            scenario["start"] = datetime.now(timezone.utc).isoformat()
            scenario.pop("valid_result", None)
            replayer = Replayer(app)
            replayer.run(scenario)  # warm up: logins, caches
            floor_run(variant, 1, floor_engine)
            codes = []
            start = time.perf_counter()
            for _ in range(n):
                codes.append(replayer.run(scenario).code)
            ours = (time.perf_counter() - start) / n
            floor = floor_run(variant, n, floor_engine)
            with system.db.session() as session:
                sizes = [len(s) for s in session.scalars(select(Dossier.workflow_state).where(Dossier.code.in_(codes)))]
            print(f"{variant:<10}{n:>4}{ours * 1000:>14.1f}{floor * 1000:>11.1f}{ours / floor:>8.2f}"
                  f"{max(sizes) / 1024:>10.1f}")


if __name__ == "__main__":
    main()
