"""The outbox: e-mail over real SMTP (aiosmtpd on loopback, plain and STARTTLS with a login), the demo's .eml and
SMS files, exactly-once queueing and sending, retries, and the certified copy e-mailed to a walk-in citizen."""
from __future__ import annotations

import datetime as dt
import email
import ipaddress
import json
import socket
import ssl
import threading
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from app import clock, create_app
from app.adapters.models import Agency, Dossier, OutboxMessage, Register
from app.adapters import outbox
from app.services.timers import registered_jobs, tick


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """aiosmtpd handler keeping what it receives."""

    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.received.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def use_smtp(system, port: int, **extra) -> None:
    system.settings.extra["mail"] = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                                     "sender": "Sở Tư pháp <no-reply@stp.example.vn>", "timeout": 10, **extra}


def queue(system, key="k1", channel="email", recipient="dan@example.vn", body="Nội dung thử", **extra):
    with system.db.session() as session, session.begin():
        return system.notifier.queue(session, dedup_key=key, channel=channel, recipient=recipient,
                                     subject="Thông báo thử", body=body, now=clock.now(), **extra)


def rows(system):
    with system.db.session() as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_smtp_delivery_once_with_vietnamese_text(system, smtp_server):
    box, port = smtp_server
    use_smtp(system, port)
    assert queue(system, body="Hồ sơ của bạn đã có kết quả.") is True
    assert queue(system, body="Hồ sơ của bạn đã có kết quả.") is False  # same key: queued once
    report = outbox.deliver_pending(system)
    assert (report.sent, report.failed) == (1, 0)
    assert outbox.deliver_pending(system).sent == 0
    assert len(box.received) == 1
    message = box.received[0]
    assert message["To"] == "dan@example.vn" and message["Subject"] == "Thông báo thử"
    assert "Hồ sơ của bạn đã có kết quả." in message.get_body(("plain",)).get_content()
    assert message["Message-ID"] == outbox.message_id("k1")
    assert box.envelopes[0].mail_from == "no-reply@stp.example.vn"
    [row] = rows(system)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_and_login(system, tmp_path):
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"certcopy" and auth_data.password == b"mat-khau-smtp"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 on failure

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_required=True)
    controller.start()
    try:
        use_smtp(system, controller.port, smtp_security="starttls", smtp_username="certcopy",
                 smtp_password="sai", smtp_cafile=str(cert))
        queue(system)
        failed = outbox.deliver_pending(system)
        assert failed.failed == 1 and "Authentication" in failed.errors[0] and not box.received
        system.settings.extra["mail"]["smtp_password"] = "mat-khau-smtp"
        later = clock.now() + dt.timedelta(minutes=2)
        assert outbox.deliver_pending(system, now=later).sent == 1
        assert len(box.received) == 1 and logins[-1] == (b"certcopy", b"mat-khau-smtp")
    finally:
        controller.stop()


def test_failures_are_retried_with_backoff_then_given_up(system, smtp_server):
    box, port = smtp_server
    use_smtp(system, free_port())  # nobody listens there
    queue(system)
    start = clock.now()
    first = outbox.deliver_pending(system, now=start)
    assert first.failed == 1 and first.sent == 0
    [row] = rows(system)
    assert row.attempts == 1 and row.last_error and row.sent_at is None
    assert row.next_attempt_at == start + outbox.retry_delay(1)
    assert outbox.deliver_pending(system, now=start + dt.timedelta(seconds=30)).failed == 0  # not due yet
    use_smtp(system, port)
    assert outbox.deliver_pending(system, now=start + dt.timedelta(minutes=1)).sent == 1
    assert len(box.received) == 1

    use_smtp(system, free_port())
    queue(system, key="k2")
    moment = start
    for _ in range(outbox.MAX_ATTEMPTS):
        moment += outbox.LONGEST_RETRY
        outbox.deliver_pending(system, now=moment)
    k2 = [r for r in rows(system) if r.dedup_key == "k2"][0]
    assert k2.attempts == outbox.MAX_ATTEMPTS and k2.failed_at is not None and k2.sent_at is None
    use_smtp(system, port)
    assert outbox.deliver_pending(system, now=moment + outbox.LONGEST_RETRY).sent == 0  # given up: left for people


def test_concurrent_senders_send_each_message_once(system, smtp_server):
    box, port = smtp_server
    use_smtp(system, port)
    for n in range(6):
        queue(system, key=f"m{n}", recipient=f"nguoi{n}@example.vn")
    barrier = threading.Barrier(4)
    reports = []

    def sender():
        barrier.wait()
        reports.append(outbox.deliver_pending(system))

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.sent for r in reports) == 6
    assert sorted(m["To"] for m in box.received) == sorted(f"nguoi{n}@example.vn" for n in range(6))


def test_demo_default_writes_eml_and_sms_files(system):
    queue(system, key="e1", body="Thư thử nghiệm")
    queue(system, key="s1", channel="sms", recipient="0912345678", body="Tin nhắn thử nghiệm")
    assert outbox.deliver_pending(system).sent == 2
    folder = system.settings.outbox_path
    [eml] = list(folder.glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "dan@example.vn" and "Thư thử nghiệm" in message.get_body(("plain",)).get_content()
    [sms] = list(folder.glob("*.sms.json"))
    body = json.loads(sms.read_text(encoding="utf-8"))
    assert body["to"] == "0912345678" and body["text"] == "Tin nhắn thử nghiệm" and body["reference"] == "s1"


def test_custom_sms_gateway_is_used(system):
    sent = []

    class Gateway:
        def send(self, phone, text, reference):
            sent.append((phone, text, reference))

    system.settings.extra["sms_gateway"] = Gateway()
    queue(system, key="s1", channel="sms", recipient="0988000111", body="Lịch hẹn đã được dời")
    assert outbox.deliver_pending(system).sent == 1
    assert sent == [("0988000111", "Lịch hẹn đã được dời", "s1")]


def test_the_scheduler_tick_delivers_the_outbox(system):
    create_app(system=system)  # registering the portal registers its jobs
    assert {"outbox_delivery", "appointment_reminders"} <= {job.name for job in registered_jobs()}
    queue(system, key="t1")
    report = tick(system)
    assert report.jobs["outbox_delivery"] == 1
    assert len(list(system.settings.outbox_path.glob("*.eml"))) == 1


def test_walk_in_citizen_gets_the_certified_copy_by_email(api, system, smtp_server):
    box, port = smtp_server
    use_smtp(system, port)
    resp = api.file_dossier("one_stop.pcc1", agency="pcc1", email="nguoi.dan@example.vn", pages=2)
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["code"]
    assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    assert api.complete("leader.pcc1", code, "assign", {"signer": "signer.pcc1"}).status_code == 200
    assert api.complete("signer.pcc1", code, "review_sign", {"decision": "approve"}, pin="demo").status_code == 200
    with system.db.session() as session:
        register_id = session.scalar(select(Register.id).join(Agency).where(Agency.slug == "pcc1"))
    assert api.complete("clerk.pcc1", code, "seal", {"register": register_id}, pin="demo").status_code == 200
    assert api.complete("one_stop.pcc1", code, "return", {"fee_paid": True}).status_code == 200
    report = outbox.deliver_pending(system)
    assert report.failed == 0
    results = [m for m in box.received if m["To"] == "nguoi.dan@example.vn" and m.get_content_maintype() == "multipart"]
    assert len(results) == 1
    attachments = list(results[0].iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"{code}.pdf"]
    with system.db.session() as session:
        expected = system.files.get(session.scalar(select(Dossier.result_sha256).where(Dossier.code == code)))
    assert attachments[0].get_content() == expected
    assert "đã có kết quả" in results[0].get_body(("plain",)).get_content()
    outbox.deliver_pending(system)
    with system.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.attachment_sha256.is_not(None))) == 1
