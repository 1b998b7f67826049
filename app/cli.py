"""The `certcopy` command: demo and production servers, schema upgrades, the first administrator, scenario
replay, timer tick, audit verification."""
from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import datetime

from app import clock
from app.config import Settings


def _settings(args) -> Settings:
    return Settings.load(args.instance)


def cmd_demo(args) -> int:
    from app.bootstrap import prepare_system
    from app.services.demo import DEMO_PASSWORD, demo_accounts

    settings = _settings(args)
    settings.public_base_url = f"http://127.0.0.1:{args.port}"
    system = prepare_system(settings, demo=True)
    print(f"certcopy demo — instance {settings.instance_path}")
    print(f"{'username':<26}{'role':<18}{'agency':<10}password / PIN")
    for username, role, slug in demo_accounts():
        print(f"{username:<26}{role:<18}{slug:<10}{DEMO_PASSWORD}")
    return _serve(system, "127.0.0.1", args.port, 8, scheduler=True)


def _serve(system, host: str, port: int, threads: int, scheduler: bool) -> int:
    from waitress import create_server

    from app import create_app
    from app.scheduler import start_scheduler

    app = create_app(system=system)
    running = start_scheduler(system) if scheduler else None
    if running:
        print(f"Timer scheduler: one tick every {running.interval:g} s (APScheduler)")
    server = create_server(app, host=host, port=port, threads=threads, ident="certcopy")
    print(f"Serving on http://{host}:{port}  (Ctrl+C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if running:
            running.stop(wait=False)
    return 0


def cmd_serve(args) -> int:
    """Production: no demo data, the configured database (migrated to this release first)."""
    from app.bootstrap import prepare_system

    settings = _settings(args)
    system = prepare_system(settings)
    print(f"certcopy — instance {settings.instance_path}, database {system.db.engine.url.render_as_string()}")
    return _serve(system, args.host, args.port, args.threads, not args.no_scheduler)


def cmd_db_upgrade(args) -> int:
    from app.adapters import schema
    from app.system import System

    system = System(_settings(args))
    try:
        before = schema.upgrade(system.db.engine)
    finally:
        system.db.engine.dispose()
    if before.up_to_date:
        print(f"database already at {before.head}")
    else:
        print(f"database upgraded from {before.current or 'an empty or unversioned schema'} to {before.head}")
    return 0


def cmd_db_current(args) -> int:
    from app.adapters import schema
    from app.system import System

    system = System(_settings(args))
    try:
        now = schema.state(system.db.engine)
    finally:
        system.db.engine.dispose()
    print(f"database at {now.current or '(no version: empty, or made before migrations)'}; this release: {now.head}")
    return 0 if now.up_to_date else 1


def cmd_create_admin(args) -> int:
    import getpass

    from app.bootstrap import prepare_system
    from app.errors import AppError
    from app.services.administration.agencies import create_administrator

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            print("Hai lần nhập mật khẩu không khớp.", file=sys.stderr)
            return 2
    system = prepare_system(_settings(args))
    try:
        user = create_administrator(system, {"username": args.username, "full_name": args.full_name,
                                             "password": password, **({"email": args.email} if args.email else {})})
    except AppError as exc:
        print(f"{exc.message}", file=sys.stderr)
        return 2
    finally:
        system.db.engine.dispose()
    print(f"administrator {user['username']} created")
    return 0


def cmd_tick(args) -> int:
    from app.bootstrap import prepare_system
    from app.services.timers import tick

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
    from app.replay import replay_files

    try:
        return 0 if replay_files(args.scenarios, instance=args.instance, out=sys.stdout) else 1
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2


def cmd_audit_verify(args) -> int:
    from app.bootstrap import prepare_system
    from app.engine.audit import verify_chain

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

    serve = sub.add_parser("serve", help="serve the configured instance (no demo data), with the timer scheduler")
    serve.add_argument("--instance")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--threads", type=int, default=8)
    serve.add_argument("--no-scheduler", action="store_true",
                       help="do not tick timers in this process (e.g. `certcopy tick` runs from cron)")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database schema: upgrade to this release, or show the version")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="create the schema, or migrate it to this release keeping the data")
    upgrade.add_argument("--instance")
    upgrade.set_defaults(func=cmd_db_upgrade)
    current = db_sub.add_parser("current", help="show the schema version (exit 1 when an upgrade is pending)")
    current.add_argument("--instance")
    current.set_defaults(func=cmd_db_current)

    admin = sub.add_parser("create-admin", help="create an administrator account (asks for the password)")
    admin.add_argument("username")
    admin.add_argument("--full-name", required=True)
    admin.add_argument("--email")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.add_argument("--instance")
    admin.set_defaults(func=cmd_create_admin)

    tick = sub.add_parser("tick", help="one scheduler tick: fire the due timers, send due-soon notices, run jobs")
    tick.add_argument("--instance")
    tick.add_argument("--now", help="tick as of this ISO-8601 moment with offset (default: now)")
    tick.set_defaults(func=cmd_tick)

    replay = sub.add_parser("replay", help="run path scenarios against a fresh database, printing each step")
    replay.add_argument("scenarios", nargs="*",
                        help="scenario files, or names of shipped scenarios (province_happy, …); none: all shipped")
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
