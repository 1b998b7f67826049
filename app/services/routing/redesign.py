"""Redesigning a routing variant: save a checked version, dry-run it, activate it, migrate running dossiers.

Every use case here is one transaction; migrating a dossier happens under that dossier's lock.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock, resources
from app.adapters.db import lock_dossier
from app.services.routing import checks
from app.engine import migration
from app.engine.audit import append_event
from app.engine.definitions import VARIANTS, sha256_text
from app.engine.dry_run import DryRunner, RecordedCase, ReplayStep, summarize
from app.engine.runtime import FINAL_STATUSES, StepContext
from app.errors import AppError, BadRequest, Conflict, NotFound, Unprocessable
from app.adapters.models import Agency, Dossier, Event, ProcessActivation, ProcessDryRun, ProcessVersion, User, UserRole
from app.domain.calendar import VN_TZ
from app.services.unit_of_work import reading, unit_of_work
from app.domain.task_forms import validate_form
from app.services.dossiers.operators import OPERATORS
from app.services.routing.versions import activate as set_active
from app.services.routing.versions import add_version

DRY_RUN_DOSSIERS = 50
VARIANT_NAMES = {"province": "cấp tỉnh", "district": "cấp huyện", "commune": "cấp xã"}


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise NotFound(f"Không có quy trình '{variant}' (có: {', '.join(VARIANTS)}).", code="unknown_variant")
    return variant


def get_version(session, variant: str, number: int) -> ProcessVersion:
    check_variant(variant)
    row = session.scalar(select(ProcessVersion).where(ProcessVersion.variant == variant,
                                                      ProcessVersion.version == number))
    if row is None:
        raise NotFound(f"Không có phiên bản {number} của quy trình {VARIANT_NAMES[variant]}.",
                       code="unknown_process_version")
    return row


# -- checks and saving -------------------------------------------------------------------------------------
def staffed_roles(session, variant: str) -> frozenset[str]:
    """Roles held by an active user at an agency of this level (citizens are always there)."""
    roles = session.scalars(select(UserRole.role).join(User, User.id == UserRole.user_id)
                            .join(Agency, Agency.id == User.agency_id)
                            .where(Agency.level == variant, User.active).distinct())
    return frozenset(roles) | {"citizen"}


def check_xml(session, system, variant: str, xml: str) -> checks.CheckReport:
    registries = checks.default_registries(staffed_roles(session, variant), system.settings.supplement_timeout)
    return checks.check_bpmn(xml, registries)


def rejection(report: checks.CheckReport, what: str = "Quy trình chưa được lưu") -> Unprocessable:
    count = len(report.errors)
    first = report.errors[0].message if report.errors else ""
    return Unprocessable(f"{what}: {count} lỗi. {first}", code="invalid_bpmn",
                         details={"problems": [p.as_dict() for p in report.problems], "report": report.as_dict()})


def save_version(system, variant: str, xml: str | bytes, created_by: str):
    """Check the BPMN and store it as a new inactive version. Returns (version, report, created)."""
    check_variant(variant)
    if isinstance(xml, bytes):
        xml = checks.decode_upload(xml)
    if not xml.strip():
        raise BadRequest("Chưa có nội dung BPMN.", code="missing_bpmn")
    with unit_of_work(system) as session:
        report = check_xml(session, system, variant, xml)
        if not report.ok:
            raise rejection(report)
        existing = session.scalar(select(ProcessVersion).where(ProcessVersion.variant == variant,
                                                               ProcessVersion.sha256 == sha256_text(xml)))
        if existing is not None:
            return existing, report, False
        try:
            version = add_version(session, variant, xml, created_by)
        except IntegrityError:
            raise Conflict("Một phiên bản khác vừa được lưu cùng lúc; hãy thử lại.", code="version_race") from None
        return version, report, True


# -- dry run ----------------------------------------------------------------------------------------------
def _case_from_dossier(session, dossier: Dossier, supplement_timeout: str) -> RecordedCase | None:
    events = session.scalars(select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq)).all()
    submitted = next((e for e in events if e.kind == "submitted"), None)
    if submitted is None:
        return None
    steps = []
    for event in events:
        if event.kind == "task_completed" and event.task:
            data = {k: v for k, v in (event.data or {}).items() if k != "task_id"}
            steps.append(ReplayStep("complete", event.at, event.task, data))
        elif event.kind == "timer_fired":
            steps.append(ReplayStep("timers", event.at))
    return RecordedCase(dossier.code, "dossier", submitted.at,
                        {"supplement_timeout": supplement_timeout, "dossier": dossier.code}, steps, dossier.status,
                        title=f"{dossier.document_type} — {dossier.agency.name}")


def library_scenarios(variant: str) -> list[tuple[str, dict]]:
    """The shipped scenarios of a variant, as (file name, scenario)."""
    found = []
    for name, text in resources.scenario_texts():
        scenario = json.loads(text)
        if scenario.get("variant") == variant or (not scenario.get("variant") and name.startswith(variant)):
            found.append((name, scenario))
    return found


def _expand(steps):
    for step in steps:
        if "repeat" in step:
            for _ in range(int(step["repeat"])):
                yield from _expand(step["steps"])
        else:
            yield step


def case_from_scenario(name: str, scenario: dict, supplement_timeout: str) -> RecordedCase:
    moment = datetime.fromisoformat(scenario["start"])
    started = moment
    steps = []
    for step in _expand(scenario["steps"]):
        if "advance" in step:
            moment = moment + timedelta(hours=step["advance"])
            continue
        if "at" in step:
            moment = datetime.fromisoformat(step["at"])
        if step.get("tick"):
            steps.append(ReplayStep("timers", moment, expect_status=step.get("expect")))
        elif step.get("supplement"):
            steps.append(ReplayStep("complete", moment, "supplement", {"note": "Bổ sung", "sha256": "dry-run"},
                                    step.get("expect")))
        elif "task" in step:
            if step.get("status_code", 200) != 200:
                continue  # the API refused this step: the workflow did not move
            data = {k: (1 if v == "$register" else v) for k, v in step.get("data", {}).items()}
            try:
                data = validate_form(step["task"], data)  # what the API hands the engine: every field, defaults
            except (KeyError, AppError):
                pass
            steps.append(ReplayStep("complete", moment, step["task"], data, step.get("expect")))
    return RecordedCase(name, "scenario", started, {"supplement_timeout": supplement_timeout,
                                                     "dossier": f"DRY-RUN-{name.removesuffix('.json')}"},
                        steps, scenario.get("final_status"), scenario.get("submit", {}).get("expect"),
                        title=scenario.get("name"))


def dry_run(system, variant: str, number: int, by: str, limit: int = DRY_RUN_DOSSIERS) -> dict:
    """Replay the latest finished dossiers of the variant and its scenario library against version `number`."""
    now = clock.now()
    with unit_of_work(system) as session:
        version = get_version(session, variant, number)
        parsed = system.engine.cache.get(version.sha256, version.bpmn_xml)
        timeout = system.settings.supplement_timeout
        dossiers = session.scalars(select(Dossier).where(Dossier.variant == variant,
                                                         Dossier.status.in_(FINAL_STATUSES))
                                   .order_by(Dossier.finished_at.desc(), Dossier.id.desc()).limit(limit)).all()
        cases = [c for c in (_case_from_dossier(session, d, timeout) for d in dossiers) if c is not None]
        cases += [case_from_scenario(name, scenario, timeout) for name, scenario in library_scenarios(variant)]
        runner = DryRunner(parsed, system.settings, system.calendar, OPERATORS.keys())
        results = [runner.replay(case) for case in cases]
        summary = summarize(results)
        report = {"variant": variant, "version": version.version, "at": now.isoformat(),
                  "at_text": now.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M"), "by": by,
                  "summary": summary, "cases": [r.as_dict() for r in results]}
        row = ProcessDryRun(process_version_id=version.id, created_at=now, created_by=by, cases=summary["cases"],
                            differing=summary["differing"], report=report)
        session.add(row)
        session.flush()
        report["id"] = row.id
        return report


def latest_dry_run(session, version: ProcessVersion) -> ProcessDryRun | None:
    return session.scalar(select(ProcessDryRun).where(ProcessDryRun.process_version_id == version.id)
                          .order_by(ProcessDryRun.id.desc()).limit(1))


# -- activation -------------------------------------------------------------------------------------------
def activate_version(system, variant: str, number: int, by: str) -> dict:
    """Make version `number` the one new dossiers follow; running dossiers keep theirs. Needs a dry run."""
    with unit_of_work(system) as session:
        if session.get_bind().dialect.name != "sqlite":  # one activation of a variant at a time
            session.scalars(select(ProcessVersion.id).where(ProcessVersion.variant == variant)
                            .with_for_update()).all()
        version = get_version(session, variant, number)
        previous = session.scalar(select(ProcessVersion).where(ProcessVersion.variant == variant,
                                                               ProcessVersion.active))
        if previous is not None and previous.id == version.id:
            return {"variant": variant, "version": number, "active": True, "previous": number, "changed": False}
        if latest_dry_run(session, version) is None:
            raise Conflict(f"Cần chạy thử phiên bản {number} trước khi kích hoạt.", code="dry_run_required")
        report = check_xml(session, system, variant, version.bpmn_xml)  # forms or operators may have changed since
        if not report.ok:
            raise rejection(report, "Phiên bản này không còn đạt kiểm tra, không kích hoạt được")
        set_active(session, version)
        session.add(ProcessActivation(process_version_id=version.id,
                                      previous_version_id=previous.id if previous else None,
                                      activated_at=clock.now(), activated_by=by))
        return {"variant": variant, "version": number, "active": True,
                "previous": previous.version if previous else None, "changed": True}


def activations(session, variant: str) -> list[dict]:
    rows = session.execute(select(ProcessActivation, ProcessVersion).join(
        ProcessVersion, ProcessVersion.id == ProcessActivation.process_version_id)
        .where(ProcessVersion.variant == variant).order_by(ProcessActivation.id.desc())).all()
    return [{"version": v.version, "at": a.activated_at, "by": a.activated_by} for a, v in rows]


# -- migration of running dossiers ---------------------------------------------------------------------------
def running_dossiers(session, variant: str, target: ProcessVersion) -> list[Dossier]:
    return list(session.scalars(select(Dossier).where(Dossier.variant == variant,
                                                      Dossier.status.not_in(FINAL_STATUSES),
                                                      Dossier.process_version_id != target.id)
                                .order_by(Dossier.id)))


def migration_plans(system, variant: str, number: int) -> dict:
    """For each running dossier of the variant on another version: may it move to `number`, and what changes."""
    with system.db.session() as session:
        target = get_version(session, variant, number)
        parsed = system.engine.cache.get(target.sha256, target.bpmn_xml)
        plans = []
        for dossier in running_dossiers(session, variant, target):
            plan, _ = migration.plan_migration(system.engine.load(dossier), parsed, parsed.task_titles)
            plans.append({"code": dossier.code, "status": dossier.status, "version": dossier.process_version.version,
                          "agency": dossier.agency.name, "plan": plan.as_dict()})
        return {"variant": variant, "version": number, "active": target.active, "dossiers": plans}


def migrate_dossiers(system, variant: str, number: int, codes: list[str], actor: User) -> dict:
    """Move each chosen running dossier to version `number` (the active one), each in its own transaction under
    its lock. A dossier whose changed task already ran is refused and stays untouched."""
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        raise BadRequest("Cần danh sách mã hồ sơ cần chuyển ('dossiers').", code="missing_dossiers")
    with system.db.session() as session:
        target = get_version(session, variant, number)
        if not target.active:
            raise Conflict(f"Chỉ chuyển hồ sơ sang phiên bản đang áp dụng; phiên bản {number} chưa được kích hoạt.",
                           code="version_not_active")
        target_id = target.id
    parsed = system.engine.cache.get(target.sha256, target.bpmn_xml)
    migrated, refused = [], []
    for code in dict.fromkeys(codes):
        try:
            migrated.append(_migrate_one(system, code, variant, target_id, parsed, actor))
        except (migration.MigrationRefused, Conflict, NotFound) as exc:
            reason = exc.plan.reason if isinstance(exc, migration.MigrationRefused) else exc.message
            refused.append({"code": code, "reason": reason,
                            "plan": exc.plan.as_dict() if isinstance(exc, migration.MigrationRefused) else None})
    return {"variant": variant, "version": number, "migrated": migrated, "refused": refused}


def _migrate_one(system, code: str, variant: str, target_id: int, parsed, actor: User) -> dict:
    now = clock.now()
    with unit_of_work(system) as session:
        dossier = lock_dossier(session, code)
        if dossier is None or dossier.variant != variant:
            raise NotFound(f"Không có hồ sơ {code} theo quy trình {VARIANT_NAMES[variant]}.", code="unknown_dossier")
        if dossier.status in FINAL_STATUSES:
            raise Conflict(f"Hồ sơ {code} đã kết thúc ({dossier.status}).", code="dossier_finished")
        if dossier.process_version_id == target_id:
            raise Conflict(f"Hồ sơ {code} đã theo phiên bản này.", code="already_on_version")
        target = session.get(ProcessVersion, target_id)
        old_version = dossier.process_version.version
        workflow = system.engine.load(dossier)
        plan = migration.migrate(workflow, parsed, parsed.task_titles)
        dossier.process_version_id = target.id
        dossier.process_version = target
        append_event(session, dossier, at=now, actor=actor.username, role="admin", kind="migrated", data={
            "from_version": old_version, "to_version": target.version, "changed": plan.changed,
            "added": plan.added, "removed": plan.removed})
        ctx = StepContext(session=session, dossier=dossier, actor=actor, actor_name=actor.username, role="admin",
                          now=now, services=system)
        system.engine.fire_timers(ctx, workflow)  # runs what became ready, projects status and inbox
        return {"code": code, "from_version": old_version, "to_version": target.version, "status": dossier.status,
                "changed": plan.changed, "added": plan.added}


def version_rows(session, variant: str | None = None) -> list[dict]:
    query = select(ProcessVersion).order_by(ProcessVersion.variant, ProcessVersion.version.desc())
    if variant:
        query = query.where(ProcessVersion.variant == variant)
    counts = dict(session.execute(select(Dossier.process_version_id, func.count()).where(
        Dossier.status.not_in(FINAL_STATUSES)).group_by(Dossier.process_version_id)).all())
    rows = []
    for v in session.scalars(query):
        run = latest_dry_run(session, v)
        rows.append({"variant": v.variant, "version": v.version, "sha256": v.sha256, "active": v.active,
                     "created_at": v.created_at, "created_by": v.created_by, "running": counts.get(v.id, 0),
                     "dry_run": ({"at": run.created_at, "cases": run.cases, "differing": run.differing}
                                 if run else None)})
    return rows


def version_check(system, variant: str, number: int) -> dict:
    """The checks' report on a stored version."""
    with reading(system) as session:
        row = get_version(session, variant, number)
        return check_xml(session, system, variant, row.bpmn_xml).as_dict()


def last_dry_run_report(system, variant: str, number: int) -> dict:
    """The report of the latest dry run of a version."""
    with reading(system) as session:
        row = latest_dry_run(session, get_version(session, variant, number))
        if row is None:
            raise NotFound("Phiên bản này chưa được chạy thử.", code="no_dry_run")
        return {**row.report, "id": row.id}


# -- the administrator's pages -------------------------------------------------------------------------------
def versions_by_variant(system) -> dict[str, list[dict]]:
    """Every version of every variant (newest first), as `version_rows` describes them."""
    with reading(system) as session:
        rows = version_rows(session)
    return {v: [r for r in rows if r["variant"] == v] for v in VARIANTS}


def version_page(system, variant: str, number: int) -> dict:
    """One version: the row itself, its line of the versions table, its check report, the report of its latest
    dry run and the variant's activations."""
    with reading(system) as session:
        row = get_version(session, variant, number)
        run = latest_dry_run(session, row)
        return {"version": row, "info": next(r for r in version_rows(session, variant) if r["version"] == number),
                "report": check_xml(session, system, variant, row.bpmn_xml),
                "dry_run": run.report if run else None, "activations": activations(session, variant)}


def load_version(system, variant: str, number: int) -> ProcessVersion:
    with reading(system) as session:
        return get_version(session, variant, number)
