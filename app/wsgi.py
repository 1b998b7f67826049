"""The WSGI application for a multi-process server, e.g. `gunicorn -w 4 -b 0.0.0.0:8000 app.wsgi:application`.

Configured from the environment like every command (DATABASE_URL, CERTCOPY_INSTANCE, …). Each worker brings the
schema up to this release and registers the shipped processes at import; workers starting together on one
PostgreSQL database do that one after the other. `CERTCOPY_SCHEDULER=on` makes each worker tick the timers
(each timer still fires once), or leave it off and run `certcopy tick` from cron.
"""
from __future__ import annotations

from app import create_app
from app.bootstrap import prepare_system
from app.config import Settings

application = create_app(system=prepare_system(Settings.load()))
