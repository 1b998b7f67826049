"""Path replay: run a scenario (a JSON data file) through the JSON API against a fresh database.

A scenario names the variant's agency, a start moment, the filing, then steps; each step is done by a
user through the API (Flask test client) with the clock set by the scenario, and is checked against the
status it expects. Used by `certcopy replay` and by the tests.
"""
from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from PIL import Image, ImageDraw
from sqlalchemy import select

from app import clock, create_app, resources
from app.config import Settings
from app.adapters.models import Agency, Register

DEMO_PIN = "demo"


def make_pdf(pages: int, label: str = "Bản chính") -> bytes:
    """A simple multi-page PDF (scanner-like, one image per page) for filings."""
    images = []
    for n in range(pages):
        img = Image.new("L", (620, 877), 255)
        draw = ImageDraw.Draw(img)
        draw.rectangle((40, 40, 580, 837), outline=0, width=3)
        draw.text((70, 80), f"{label} - trang {n + 1}/{pages}", fill=0)
        images.append(img)
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=72)
    return buf.getvalue()


class ScenarioFailed(AssertionError):
    pass


@dataclass
class ReplayResult:
    name: str
    code: str | None = None
    status: str | None = None
    event_kinds: list[str] = field(default_factory=list)
    steps: int = 0
    dossier: dict | None = None
    pdf: bytes | None = None


class Replayer:
    def __init__(self, app, out: TextIO | None = None):
        self.app = app
        self.client = app.test_client()
        self.system = app.extensions["certcopy"]
        self.out = out
        self.tokens: dict[str, str] = {}

    def say(self, text: str) -> None:
        if self.out:
            print(text, file=self.out, flush=True)

    def token(self, username: str) -> str:
        if username not in self.tokens:
            resp = self.client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
            if resp.status_code != 200:
                raise ScenarioFailed(f"cannot log in as {username}: {resp.get_json()}")
            self.tokens[username] = resp.get_json()["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, username: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def resolve(self, value, agency_slug: str):
        if value == "$register":
            with self.system.db.session() as session:
                agency = session.scalar(select(Agency).where(Agency.slug == agency_slug))
                return session.scalar(select(Register.id).where(Register.agency_id == agency.id,
                                                                Register.closed.is_(False)))
        if isinstance(value, dict):
            return {k: self.resolve(v, agency_slug) for k, v in value.items()}
        return value

    def run(self, scenario: dict) -> ReplayResult:
        result = ReplayResult(scenario["name"])
        moment = datetime.fromisoformat(scenario["start"])
        agency = scenario["agency"]
        clock.set_global(moment)
        try:
            filing = scenario["submit"]
            fields = {"agency": agency, "procedure": "2.000815", "document_type": "Bằng tốt nghiệp",
                      "copies": "1", "delivery": "online", "payment": "counter", "declaration": "true",
                      **filing.get("fields", {})}
            pdf = make_pdf(filing.get("pages", 2))
            resp = self.call("POST", "/api/v1/dossiers", filing["as"],
                             data={**fields, "original": (io.BytesIO(pdf), "ban-chinh.pdf")})
            self.expect(resp, 201, "submit")
            body = resp.get_json()
            result.code = body["code"]
            self.say(f"[{moment.isoformat()}] {filing['as']:<24} submit          -> {body['status']} "
                     f"({body['code']}, fee {body['fee']['amount_vnd']} VND)")
            self.check_status(body["status"], filing.get("expect", "submitted"), "submit")
            for step in self.expand(scenario["steps"]):
                moment = self.step(step, result, moment, agency)
                result.steps += 1
            final = self.call("GET", f"/api/v1/dossiers/{result.code}", "auditor").get_json()
            result.status, result.dossier = final["status"], final
            result.event_kinds = [e["kind"] for e in final["history"]]
            self.check_status(final["status"], scenario["final_status"], "final")
            for kind in scenario.get("event_kinds", []):
                if kind not in result.event_kinds:
                    raise ScenarioFailed(f"{scenario['name']}: no '{kind}' event in {sorted(set(result.event_kinds))}")
            if "expect_overdue" in scenario and final["overdue"] != scenario["expect_overdue"]:
                raise ScenarioFailed(f"{scenario['name']}: overdue is {final['overdue']}")
            if scenario.get("valid_result"):
                self.check_result(result)
            self.say(f"final status {final['status']}, {len(final['history'])} events")
            return result
        finally:
            clock.set_global(None)

    def check_result(self, result: ReplayResult) -> None:
        """The certified copy validates: both signatures intact and trusted."""
        import signing

        resp = self.call("GET", f"/api/v1/dossiers/{result.code}/result.pdf", "citizen")
        self.expect(resp, 200, "result.pdf")
        report = signing.validate(resp.get_data(), self.system.keys.trust_roots())
        if not report.valid or len(report.signatures) != 2:
            raise ScenarioFailed(f"certified copy does not validate: {report}")
        result.pdf = resp.get_data()
        self.say(f"certified copy validates: {', '.join(s.field for s in report.signatures)} intact and trusted")

    @staticmethod
    def expand(steps: Iterable[dict]) -> Iterable[dict]:
        for step in steps:
            if "repeat" in step:
                for _ in range(step["repeat"]):
                    yield from Replayer.expand(step["steps"])
            else:
                yield step

    def step(self, step: dict, result: ReplayResult, moment: datetime, agency: str) -> datetime:
        if "advance" in step:
            moment = moment + timedelta(hours=step["advance"])
            clock.set_global(moment)
            self.say(f"[{moment.isoformat()}] clock advanced {step['advance']} h")
            return moment
        if "at" in step:
            moment = datetime.fromisoformat(step["at"])
            clock.set_global(moment)
        if step.get("tick"):
            from app.services.timers import run_due_timers
            fired = run_due_timers(self.system, moment)
            status = self.call("GET", f"/api/v1/dossiers/{result.code}", "auditor").get_json()["status"]
            self.say(f"[{moment.isoformat()}] {'scheduler':<24} tick            -> {status} ({fired} fired)")
            self.check_status(status, step.get("expect"), "tick")
            return moment
        user = step["as"]
        if step.get("supplement"):
            resp = self.call("POST", f"/api/v1/dossiers/{result.code}/supplement", user,
                             data={"note": "Bổ sung bản scan rõ hơn",
                                   "original": (io.BytesIO(make_pdf(step.get("pages", 2))), "bo-sung.pdf")})
            self.expect(resp, 200, "supplement")
            status = resp.get_json()["status"]
            self.say(f"[{moment.isoformat()}] {user:<24} supplement      -> {status}")
            self.check_status(status, step.get("expect"), "supplement")
            return moment
        tasks = self.call("GET", f"/api/v1/tasks?name={step['task']}", user).get_json()
        mine = [t for t in tasks if t["dossier"] == result.code]
        if not mine:
            raise ScenarioFailed(f"{user} has no '{step['task']}' task for {result.code}")
        payload = {"data": self.resolve(step.get("data", {}), agency)}
        if step.get("pin", step["task"] in ("review_sign", "seal")):
            payload["pin"] = step.get("pin") if isinstance(step.get("pin"), str) else DEMO_PIN
        resp = self.call("POST", f"/api/v1/tasks/{mine[0]['id']}/complete", user, json=payload)
        self.expect(resp, step.get("status_code", 200), step["task"])
        if resp.status_code == 200:
            status = resp.get_json()["dossier"]["status"]
            self.say(f"[{moment.isoformat()}] {user:<24} {step['task']:<15} -> {status}")
            self.check_status(status, step.get("expect"), step["task"])
        else:
            self.say(f"[{moment.isoformat()}] {user:<24} {step['task']:<15} -> refused "
                     f"{resp.status_code} {resp.get_json()['error']['code']}")
        return moment

    @staticmethod
    def expect(resp, status: int, what: str) -> None:
        if resp.status_code != status:
            raise ScenarioFailed(f"{what}: expected HTTP {status}, got {resp.status_code} {resp.get_data(as_text=True)[:500]}")

    @staticmethod
    def check_status(actual: str, expected: str | None, what: str) -> None:
        if expected and actual != expected:
            raise ScenarioFailed(f"{what}: expected status {expected}, got {actual}")


def scenario_library() -> dict[str, dict]:
    """The shipped scenarios by name (file name without `.json`)."""
    return {name.removesuffix(".json"): json.loads(text) for name, text in resources.scenario_texts()}


def load_scenario(ref: str | Path) -> dict:
    """A scenario from a JSON file, or from the shipped library by name (`province_happy`)."""
    path = Path(ref)
    if path.suffix == ".json" and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    library = scenario_library()
    name = path.name.removesuffix(".json")
    if name not in library:
        raise FileNotFoundError(f"no scenario file '{ref}' and no shipped scenario '{name}' "
                                f"(shipped: {', '.join(sorted(library))})")
    return library[name]


def replay_files(refs: list[str], instance: str | None = None, out: TextIO | None = None) -> bool:
    """Replay each scenario on a fresh instance: its own folder and SQLite database. When DATABASE_URL names a
    server database instead, all scenarios share that database (seeded once) and one instance folder, which
    holds the files and keys that database refers to."""
    import os

    from app.bootstrap import prepare_system

    shared_db = bool(os.environ.get("DATABASE_URL"))
    root = Path(instance) if instance else Path(tempfile.mkdtemp(prefix="certcopy-replay-"))
    ok = True
    try:
        for ref in refs or sorted(scenario_library()):
            scenario = load_scenario(ref)
            label = Path(ref).name.removesuffix(".json")
            folder = root / ("shared" if shared_db else label)
            if not shared_db and folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)
            system = prepare_system(Settings.load(folder), demo=True)
            print(f"== {scenario['name']} ({label})", file=out)
            try:
                Replayer(create_app(system=system), out).run(scenario)
                print("PASS", file=out)
            except ScenarioFailed as exc:
                ok = False
                print(f"FAIL: {exc}", file=out)
            finally:
                system.db.engine.dispose()
    finally:
        if not instance:
            shutil.rmtree(root, ignore_errors=True)
    return ok
