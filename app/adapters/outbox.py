"""Sending the outbox: e-mail (SMTP, or .eml files for the demo) and SMS (a gateway interface).

The notifier queues `OutboxMessage` rows inside the step's transaction (a `dedup_key` makes a retried step queue
nothing new). After the commit a sender (the scheduler's tick, see `register_delivery_job`) delivers the pending
rows: it first claims a row for a lease (a conditional UPDATE, so two senders — threads, workers or hosts — never
send the same row), sends it, then marks it sent. A failure is recorded and retried with back-off; after
MAX_ATTEMPTS the row is marked failed and left for an operator.
If a sender dies between the provider accepting a message and marking it sent, the row is sent again once the lease
expires; the e-mail's Message-ID is derived from the dedup key so receivers can recognise the repeat.

Configuration (settings.extra["mail"], a dict, overrides the environment; settings.extra["sms_gateway"] may hold
another SmsGateway):
  CERTCOPY_SMTP_HOST (unset: write .eml files to <instance>/outbox), CERTCOPY_SMTP_PORT (587),
  CERTCOPY_SMTP_SECURITY (starttls | ssl | none), CERTCOPY_SMTP_USERNAME, CERTCOPY_SMTP_PASSWORD,
  CERTCOPY_SMTP_CAFILE (extra trusted CA for the server's certificate), CERTCOPY_MAIL_FROM.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import or_, select, update

from app import clock
from app.adapters.files import write_atomically
from app.adapters.models import OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
EMAIL_FOOTER = ("\n\n--\nThư tự động từ hệ thống Chứng thực bản sao điện tử. "
                "Vui lòng không trả lời thư này.")


# -- configuration ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MailConfig:
    sender: str = "Chứng thực bản sao điện tử <no-reply@certcopy.invalid>"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | ssl | none
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_cafile: str | None = None
    timeout: float = 20.0

    ENV = {"sender": "CERTCOPY_MAIL_FROM", "smtp_host": "CERTCOPY_SMTP_HOST", "smtp_port": "CERTCOPY_SMTP_PORT",
           "smtp_security": "CERTCOPY_SMTP_SECURITY", "smtp_username": "CERTCOPY_SMTP_USERNAME",
           "smtp_password": "CERTCOPY_SMTP_PASSWORD", "smtp_cafile": "CERTCOPY_SMTP_CAFILE"}

    @classmethod
    def from_settings(cls, settings) -> MailConfig:
        values: dict = {}
        for name, var in cls.ENV.items():
            if os.environ.get(var):
                values[name] = os.environ[var]
        values.update((settings.extra or {}).get("mail", {}))
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        if "smtp_port" in values:
            values["smtp_port"] = int(values["smtp_port"])
        config = cls(**values)
        if config.smtp_security not in ("starttls", "ssl", "none"):
            raise ValueError("CERTCOPY_SMTP_SECURITY must be starttls, ssl or none")
        return config


# -- e-mail transports -----------------------------------------------------------------------------------------
class EmailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def _write_atomically(folder: Path, name: str, data: bytes) -> Path:
    return write_atomically(folder / name, data)


def _file_stem(reference: str) -> str:
    return hashlib.sha256(reference.encode("utf-8")).hexdigest()[:16]


class EmlFolderTransport:
    """Demo default: every e-mail becomes an .eml file (open it with any mail client) in the outbox folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        stamp = clock.now().strftime("%Y%m%dT%H%M%S")
        _write_atomically(self.folder, f"{stamp}-{_file_stem(message['Message-ID'])}.eml", message.as_bytes())


class SmtpTransport:
    def __init__(self, config: MailConfig):
        self.config = config

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.config.smtp_cafile:
            context.load_verify_locations(cafile=self.config.smtp_cafile)
        return context

    def send(self, message: EmailMessage) -> None:
        c = self.config
        if c.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(c.smtp_host, c.smtp_port, timeout=c.timeout, context=self._tls_context())
        else:
            smtp = smtplib.SMTP(c.smtp_host, c.smtp_port, timeout=c.timeout)
        with smtp:
            if c.smtp_security == "starttls":
                smtp.starttls(context=self._tls_context())
            if c.smtp_username:
                smtp.login(c.smtp_username, c.smtp_password or "")
            smtp.send_message(message)


# -- SMS gateways ----------------------------------------------------------------------------------------------
class SmsGateway(Protocol):
    def send(self, phone: str, text: str, reference: str) -> None: ...


class OutboxFolderSmsGateway:
    """Demo gateway: each SMS becomes a small JSON file (`*.sms.json`) in the outbox folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, phone: str, text: str, reference: str) -> None:
        stamp = clock.now().strftime("%Y%m%dT%H%M%S")
        body = {"to": phone, "text": text, "reference": reference, "at": clock.now().isoformat()}
        _write_atomically(self.folder, f"{stamp}-{_file_stem(reference)}.sms.json",
                          json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8"))


# -- building messages -----------------------------------------------------------------------------------------
def message_id(dedup_key: str) -> str:
    return f"<{hashlib.sha256(dedup_key.encode('utf-8')).hexdigest()[:32]}@certcopy>"


def build_email(row: OutboxMessage, config: MailConfig, files) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id(row.dedup_key)
    message.set_content(row.body + EMAIL_FOOTER)
    if row.attachment_sha256:
        message.add_attachment(files.get(row.attachment_sha256), maintype="application", subtype="pdf",
                               filename=row.attachment_name or "ban-sao-chung-thuc.pdf")
    return message


# -- sending ---------------------------------------------------------------------------------------------------
@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after the n-th failed attempt, at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


class OutboxSender:
    def __init__(self, system, email: EmailTransport | None = None, sms: SmsGateway | None = None):
        self.system = system
        self.mail_config = MailConfig.from_settings(system.settings)
        outbox = system.settings.outbox_path
        if email is None:
            email = SmtpTransport(self.mail_config) if self.mail_config.smtp_host else EmlFolderTransport(outbox)
        self.email = email
        self.sms = sms or (system.settings.extra or {}).get("sms_gateway") or OutboxFolderSmsGateway(outbox)

    def _due(self, now: datetime):
        return (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))

    def _claim(self, message_id_: int, now: datetime) -> OutboxMessage | None:
        with self.system.db.session() as session, session.begin():
            claimed = session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id_, *self._due(now))
                                      .values(claimed_until=now + LEASE, attempts=OutboxMessage.attempts + 1))
            if claimed.rowcount != 1:
                return None
            return session.get(OutboxMessage, message_id_)

    def _finish(self, row: OutboxMessage, now: datetime, error: str | None) -> bool:
        """Record the outcome; True when the row is given up."""
        values: dict = {"claimed_until": None}
        given_up = False
        if error is None:
            values.update(sent_at=now, last_error=None)
        else:
            values.update(last_error=error[:2000], next_attempt_at=now + retry_delay(row.attempts))
            if row.attempts >= MAX_ATTEMPTS:
                values["failed_at"] = now
                given_up = True
        with self.system.db.session() as session, session.begin():
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
        return given_up

    def send_one(self, row: OutboxMessage) -> None:
        if row.channel == "email":
            self.email.send(build_email(row, self.mail_config, self.system.files))
        elif row.channel == "sms":
            self.sms.send(row.recipient, row.body, row.dedup_key)
        else:
            raise ValueError(f"unknown outbox channel '{row.channel}'")

    def deliver_pending(self, now: datetime | None = None, limit: int = 100) -> DeliveryReport:
        now = now or clock.now()
        report = DeliveryReport()
        with self.system.db.session() as session:
            ids = list(session.scalars(select(OutboxMessage.id).where(*self._due(now))
                                       .order_by(OutboxMessage.id).limit(limit)))
        for row_id in ids:
            row = self._claim(row_id, now)
            if row is None:
                continue  # another sender has it, or it was sent meanwhile
            try:
                self.send_one(row)
            except Exception as exc:  # noqa: BLE001 - any provider failure is recorded and retried
                error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox message %s (%s to %s) failed: %s", row.id, row.channel, row.recipient, error)
                report.failed += 1
                report.errors.append(error)
                if self._finish(row, now, error):
                    report.given_up += 1
            else:
                self._finish(row, now, None)
                report.sent += 1
        return report


def deliver_pending(system, now: datetime | None = None, limit: int = 100, **transports) -> DeliveryReport:
    """Send every due outbox message once (the periodic job and the after-commit kick call this)."""
    return OutboxSender(system, **transports).deliver_pending(now=now, limit=limit)


# -- wiring ----------------------------------------------------------------------------------------------------
def delivery_job(system, now: datetime | None = None) -> int:
    return deliver_pending(system, now=now).sent


def register_delivery_job() -> None:
    """The scheduler's tick (every few seconds in the demo and on servers) sends what the last commits queued."""
    from app.services.timers import register_job

    register_job("outbox_delivery", delivery_job)
