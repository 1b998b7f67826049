"""The `certcopy` command: demo server, scenario replay, timer tick, audit verification."""
from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import datetime
from pathlib import Path

from . import clock
from .config import Settings


def _settings(args) -> Settings:
    return Settings.load(args.instance)


def cmd_demo(args) -> int:
    from waitress import create_server

    from . import create_app
    from .bootstrap import prepare_system
    from .services.demo import DEMO_PASSWORD, demo_accounts

    settings = _settings(args)
    settings.public_base_url = f"http://127.0.0.1:{args.port}"
    system = prepare_system(settings, demo=True)
    app = create_app(system=system)
    print(f"certcopy demo — instance {settings.instance_path}")
    print(f"{'username':<26}{'role':<18}{'agency':<10}password / PIN")
    for username, role, slug in demo_accounts():
        print(f"{username:<26}{role:<18}{slug:<10}{DEMO_PASSWORD}")
    from .scheduler import start_scheduler

    scheduler = start_scheduler(system)
    print(f"Timer scheduler: one tick every {scheduler.interval:g} s (APScheduler)")
    server = create_server(app, host="127.0.0.1", port=args.port, threads=8, ident="certcopy")
    print(f"Serving on http://127.0.0.1:{args.port}  (Ctrl+C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop(wait=False)
    return 0


def cmd_tick(args) -> int:
    from .bootstrap import prepare_system
    from .services.timers import tick

    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"--now: not an ISO-8601 moment: {args.now!r} (e.g. 2026-11-25T15:00:00+07:00)", file=sys.stderr)
            return 2
        if now.tzinfo is None:
            print("--now needs a UTC offset, e.g. 2026-11-25T15:00:00+07:00", file=sys.stderr)
            return 2
    system = prepare_system(_settings(args))
    try:
        with clock.frozen(now) if now else contextlib.nullcontext():
            report = tick(system, now)
    finally:
        system.db.engine.dispose()
    print(f"tick as of {report.now.isoformat()}: {report.summary()}")
    for error in report.errors:
        print(f"  failed: {error}", file=sys.stderr)
    return 0


def cmd_replay(args) -> int:
    from .replay import replay_files

    return 0 if replay_files([Path(p) for p in args.scenarios], instance=args.instance, out=sys.stdout) else 1


def cmd_audit_verify(args) -> int:
    from .bootstrap import prepare_system
    from .engine.audit import verify_chain

    system = prepare_system(_settings(args))
    with system.db.session() as session:
        report = verify_chain(session)
    if report.ok:
        print(f"ok: {report.checked} events, every chain intact")
        return 0
    print(f"ALTERED: dossier {report.dossier}, event {report.first_bad}: {report.problem}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="certcopy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="create demo data and dev keys (once), then serve on 127.0.0.1")
    demo.add_argument("--instance", help="instance folder (default ./instance)")
    demo.add_argument("--port", type=int, default=5000)
    demo.set_defaults(func=cmd_demo)

    tick = sub.add_parser("tick", help="one scheduler tick: fire the due timers, send due-soon notices, run jobs")
    tick.add_argument("--instance")
    tick.add_argument("--now", help="tick as of this ISO-8601 moment with offset (default: now)")
    tick.set_defaults(func=cmd_tick)

    replay = sub.add_parser("replay", help="run path scenarios against a fresh database, printing each step")
    replay.add_argument("scenarios", nargs="+")
    replay.add_argument("--instance", help="folder for the fresh instance (default: a temporary folder)")
    replay.set_defaults(func=cmd_replay)

    audit = sub.add_parser("audit", help="audit commands")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="recompute every event hash chain")
    verify.add_argument("--instance")
    verify.set_defaults(func=cmd_audit_verify)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
