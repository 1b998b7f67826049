"""The audit trail: append-only events, SHA-256 chained per dossier, and its verification."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.adapters.db import queue_insert
from app.adapters.models import Dossier, Event

EVENT_KINDS = ("submitted", "task_completed", "service_completed", "timer_fired", "notified", "migrated",
               "cancelled", "claimed", "released", "fee_paid")
SECRET_KEYS = {"pin", "passphrase", "password", "secret"}


def scrub(data: dict | None) -> dict:
    """Drop secrets from data before it is recorded anywhere."""
    return {k: v for k, v in (data or {}).items() if k.lower() not in SECRET_KEYS}


def event_hash(prev_hash: str, dossier_code: str, seq: int, at: datetime, actor: str, role: str | None,
               kind: str, task: str | None, data: dict, process_version_id: int) -> str:
    payload = json.dumps(
        [dossier_code, seq, at.astimezone(timezone.utc).isoformat(timespec="microseconds"), actor, role, kind,
         task, data, process_version_id],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def append_event(session: Session, dossier: Dossier, *, at: datetime, actor: str, role: str | None, kind: str,
                 task: str | None = None, data: dict | None = None, task_id: str | None = None) -> None:
    """Append one event; the caller holds the dossier lock. The events of a step are written in one INSERT."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind}")
    clean = json.loads(json.dumps(scrub(data), default=str))
    seq = dossier.event_seq + 1
    digest = event_hash(dossier.event_head, dossier.code, seq, at, actor, role, kind, task, clean,
                        dossier.process_version_id)
    queue_insert(session, Event, dossier_id=dossier.id, seq=seq, at=at, actor=actor, role=role, kind=kind, task=task,
                 task_id=task_id, data=clean, process_version_id=dossier.process_version_id,
                 prev_hash=dossier.event_head, hash=digest)
    dossier.event_seq, dossier.event_head = seq, digest


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad: int | None
    dossier: str | None
    problem: str | None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "first_bad": self.first_bad, "dossier": self.dossier,
                "problem": self.problem}


def verify_chain(session: Session, dossier_code: str | None = None) -> ChainReport:
    """Recompute every dossier's chain; name the first altered or missing event."""
    query = select(Dossier).order_by(Dossier.id)
    if dossier_code:
        query = query.where(Dossier.code == dossier_code)
    checked = 0
    for dossier in session.scalars(query).yield_per(500):
        prev = ""
        expected_seq = 1
        events = session.scalars(select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq))
        for ev in events:
            checked += 1
            if ev.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, dossier.code, f"event {expected_seq} is missing")
            digest = event_hash(prev, dossier.code, ev.seq, ev.at, ev.actor, ev.role, ev.kind, ev.task, ev.data,
                                ev.process_version_id)
            if ev.prev_hash != prev or ev.hash != digest:
                return ChainReport(False, checked, ev.seq, dossier.code, f"event {ev.seq} was altered")
            prev = ev.hash
            expected_seq += 1
        if expected_seq - 1 != dossier.event_seq or prev != dossier.event_head:
            return ChainReport(False, checked, expected_seq, dossier.code,
                               f"events after {expected_seq - 1} are missing")
    return ChainReport(True, checked, None, None, None)
