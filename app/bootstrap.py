"""Bring an instance to a usable state: schema, shipped processes, optional demo data."""
from __future__ import annotations

from .config import Settings
from .services.demo import seed_demo
from .services.processes import ensure_shipped_processes
from .system import System


def prepare_system(settings: Settings, demo: bool = False) -> System:
    system = System(settings)
    system.db.create_all()
    with system.db.session() as session, session.begin():
        ensure_shipped_processes(session)
    if demo:
        seed_demo(system)
    return system
