"""Everything a request or a command needs, built once per app: settings, database, files, keys, engine."""
from __future__ import annotations

from app.config import Settings
from app.adapters.db import Database
from app.engine.runtime import Engine
from app.adapters.files import FileStore
from app.domain.calendar import default_calendar
from app.adapters.keys import KeyStore
from app.services.notifications import Notifier
from app.services.dossiers.operators import OPERATORS


class System:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url)
        self.files = FileStore(settings.files_path)
        self.keys = KeyStore(settings, self.files)
        self.notifier = Notifier(settings)
        self.calendar = default_calendar()
        self.engine = Engine(OPERATORS, self)
        register_periodic_jobs()


def register_periodic_jobs() -> None:
    """The jobs every tick runs besides the BPMN timers (a tick from the app, the demo or cron alike)."""
    from app.services.appointments import register_reminder_job
    from app.adapters.outbox import register_delivery_job

    register_delivery_job()
    register_reminder_job()
