"""Bring an instance to a usable state: schema (created, or migrated to this release), shipped processes,
optional demo data."""
from __future__ import annotations

from app.adapters import schema
from app.config import Settings
from app.services.demo import seed_demo
from app.services.routing.versions import ensure_shipped_processes
from app.system import System
from app.services.unit_of_work import unit_of_work


def prepare_system(settings: Settings, demo: bool = False) -> System:
    system = System(settings)
    schema.upgrade(system.db.engine)
    with unit_of_work(system) as session:
        schema.serialize_setup(session)  # several workers starting at once register the processes once
        ensure_shipped_processes(session)
    if demo:
        seed_demo(system)
    return system
