"""Process versions: the shipped BPMN files become versions; one version per variant is active."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.engine.definitions import (
    VARIANTS,
    parse_process,
    sha256_text,
)
from app.errors import NotFound
from app.resources import shipped_process
from app.adapters.models import ProcessVersion
from app.services.unit_of_work import reading


def add_version(session: Session, variant: str, xml: str, created_by: str) -> ProcessVersion:
    """Store a new (inactive) version after checking it parses; the same content is stored once."""
    if variant not in VARIANTS:
        raise NotFound(f"Unknown routing variant '{variant}'", code="unknown_variant")
    sha = sha256_text(xml)
    existing = session.scalar(select(ProcessVersion).where(ProcessVersion.variant == variant,
                                                           ProcessVersion.sha256 == sha))
    if existing:
        return existing
    parse_process(xml)
    number = (session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.variant == variant))
              or 0) + 1
    version = ProcessVersion(variant=variant, version=number, sha256=sha, bpmn_xml=xml, active=False,
                             created_at=clock.now(), created_by=created_by)
    session.add(version)
    session.flush()
    return version


def activate(session: Session, version: ProcessVersion) -> None:
    for other in session.scalars(select(ProcessVersion).where(ProcessVersion.variant == version.variant,
                                                              ProcessVersion.active)):
        other.active = False
    version.active = True


def active_version(session: Session, variant: str) -> ProcessVersion:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.variant == variant, ProcessVersion.active))
    if version is None:
        raise NotFound(f"No active routing for the {variant} variant", code="no_active_process")
    return version


def ensure_shipped_processes(session: Session) -> None:
    """Register processes/*.bpmn as versions; a variant with no active version activates the shipped one."""
    for variant in VARIANTS:
        xml = shipped_process(variant)
        version = add_version(session, variant, xml, created_by="system")
        has_active = session.scalar(select(ProcessVersion.id).where(ProcessVersion.variant == variant,
                                                                    ProcessVersion.active))
        if not has_active:
            activate(session, version)


def version_list(system) -> list[dict]:
    """GET /processes: every version of every variant, oldest first."""
    with reading(system) as session:
        rows = session.execute(select(ProcessVersion.variant, ProcessVersion.version, ProcessVersion.sha256,
                                      ProcessVersion.active, ProcessVersion.created_at, ProcessVersion.created_by)
                               .order_by(ProcessVersion.variant, ProcessVersion.version)).all()
    return [{"variant": variant, "version": version, "sha256": sha, "active": active,
             "created_at": created_at.isoformat() if created_at else None, "created_by": created_by}
            for variant, version, sha, active, created_at, created_by in rows]


def version_xml(system, variant: str, number: int) -> str:
    """The BPMN XML of one version."""
    with reading(system) as session:
        xml = session.scalar(select(ProcessVersion.bpmn_xml).where(ProcessVersion.variant == variant,
                                                                   ProcessVersion.version == number))
    if xml is None:
        raise NotFound("Không có phiên bản quy trình này.", code="unknown_process_version")
    return xml
