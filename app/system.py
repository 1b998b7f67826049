"""Everything a request or a command needs, built once per app: settings, database, files, keys, engine."""
from __future__ import annotations

from .config import Settings
from .db import Database
from .engine.runtime import Engine
from .files import FileStore
from .services.calendar import default_calendar
from .services.keys import KeyStore
from .services.notifications import Notifier
from .services.operators import OPERATORS


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
    from .services.appointments import register_reminder_job
    from .services.outbox import register_delivery_job

    register_delivery_job()
    register_reminder_job()
