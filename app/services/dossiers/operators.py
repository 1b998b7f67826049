"""The operators BPMN service tasks call (`spiffworkflow:serviceTaskOperator id=...`).

Each takes the step context (dossier, session, actor, PIN, services) and the task, plus the task's
parameters, and returns a JSON-serialisable result that lands in the task's resultVariable. They run inside
the caller's transaction under the dossier lock: a failure rolls everything back and uses no number.
"""
from __future__ import annotations

from urllib.parse import urlencode

import signing

from app.adapters.db import queue_insert
from app.engine.audit import append_event
from app.errors import Unprocessable
from app.adapters.models import Document, Notification, User
from app.services.administration.calendars import calendar_for
from app.domain.calendar import VN_TZ
from app.services.registers import check_register_open, lock_register, record_entry, take_number


def receive_dossier(ctx, task) -> str:
    """The dossier is received (tiếp nhận): the processing deadline starts now (the 15:00 rule applies)."""
    dossier = ctx.dossier
    dossier.received_at = ctx.now
    calendar = calendar_for(ctx.session, dossier.agency_id)
    dossier.due_at = calendar.due_at(ctx.now, ctx.services.settings.processing_hours)
    return dossier.due_at.isoformat()


def flag_overdue(ctx, task) -> dict:
    ctx.dossier.overdue = True
    return {"overdue": True, "due_at": ctx.dossier.due_at.isoformat() if ctx.dossier.due_at else None}


def notify(ctx, task, recipient: str, template: str) -> dict:
    dossier = ctx.dossier
    attachment = dossier.result_sha256 if template == "result_ready" and dossier.delivery == "email" else None
    told = ctx.services.notifier.notify(ctx.session, dossier, recipient, template, task.data, ctx.now,
                                        dedup=f"{task.id}", attachment_sha256=attachment, roster=ctx.roster)
    ctx.told.update((name, told["message"]) for name in told["to"])
    append_event(ctx.session, dossier, at=ctx.now, actor="system", role=None, kind="notified", task=task.task_spec.name,
                 data={k: told[k] for k in ("recipient", "template", "to")})
    return {"to": told["to"]}


def _signing_error(exc: signing.SigningError) -> Unprocessable:
    return Unprocessable(f"Không ký được bản sao: {exc}", code=f"signing_{exc.code}")


def sign_copy(ctx, task, placement: str | None = None) -> dict:
    """The signer's certification signature with the attestation (lời chứng)."""
    signer: User | None = ctx.actor
    if signer is None or not signer.has_role("signer"):
        raise Unprocessable("Chỉ người ký chứng thực mới ký được bản sao.", code="not_a_signer")
    if not signer.signature_image_sha256:
        raise Unprocessable("Chưa có ảnh chữ ký của người ký: hãy tải ảnh chữ ký (có họ tên, chức danh) lên trước.",
                            code="missing_signature_image")
    services = ctx.services
    row = services.keys.credential_for(ctx.session, kind="signer", user=signer)
    credential = services.keys.unlock(row, ctx.pin)
    original = services.files.get(ctx.dossier.original_sha256)
    try:
        prepared = signing.prepare(original, placement or "new_page", services.settings.max_upload_bytes)
        attested = signing.attest(prepared, credential, full_name=signer.full_name, title=signer.title or "",
                                  signature_image=services.files.get(signer.signature_image_sha256),
                                  timestamper=services.keys.timestamper(), signing_time=ctx.now)
    except signing.SigningError as exc:
        raise _signing_error(exc) from None
    sha = services.files.put(attested)
    ctx.dossier.attested_sha256 = sha
    ctx.dossier.signed_by_id = signer.id
    ctx.session.add(Document(dossier_id=ctx.dossier.id, kind="signed_copy", sha256=sha, size=len(attested),
                             pages=prepared.original_pages, filename=f"{ctx.dossier.code}-signed.pdf",
                             created_at=ctx.now))
    return {"sha256": sha, "signer": signer.username, "placement": placement or "new_page"}


def seal_copy(ctx, task, register: int) -> dict:
    """The clerk's seal: next number of the register, the agency's seal signature over the signer's."""
    services, dossier = ctx.services, ctx.dossier
    today = ctx.now.astimezone(VN_TZ).date()
    book = check_register_open(lock_register(ctx.session, register), dossier.agency_id, today)
    agency = dossier.agency
    if not agency.seal_image_sha256:
        raise Unprocessable("Chưa có ảnh con dấu của cơ quan: văn thư cần tải ảnh con dấu lên trước.",
                            code="missing_seal_image")
    if not dossier.attested_sha256:
        raise Unprocessable("Bản sao chưa được ký.", code="not_signed")
    row = services.keys.credential_for(ctx.session, kind="seal", agency=agency)
    credential = services.keys.unlock(row, ctx.pin)
    number = take_number(ctx.session, book)  # under the register's row lock; a failure below rolls it back
    verify_url = f"{services.settings.public_base_url}/verify/{number}?" + urlencode(
        {"register": book.full_name, "date": f"{today:%Y-%m-%d}"})
    try:
        sealed = signing.seal(services.files.get(dossier.attested_sha256), credential,
                              seal_image=services.files.get(agency.seal_image_sha256), certification_number=number,
                              register_name=book.name, certified_on=today, verify_url=verify_url,
                              timestamper=services.keys.timestamper(), signing_time=ctx.now)
    except signing.SigningError as exc:
        raise _signing_error(exc) from None
    sha = services.files.put(sealed)
    record_entry(ctx.session, book, number, dossier, ctx.now)
    ctx.session.add(Document(dossier_id=dossier.id, kind="certified_copy", sha256=sha, size=len(sealed),
                             pages=dossier.pages, filename=f"{dossier.code}.pdf", created_at=ctx.now))
    dossier.result_sha256 = sha
    dossier.certification_number = number
    dossier.register_id = book.id
    dossier.certified_at = ctx.now
    return {"certification_number": number, "register": book.full_name, "sha256": sha}


def notify_task_holders(ctx, task, template: str) -> dict:
    """Tell whoever holds the dossier's current task(s) (the assignee, or every staff member of the task's
    role); someone already told the same message in this step (e.g. the leader) is not told twice."""
    dossier, session = ctx.dossier, ctx.session
    message = ctx.services.notifier.render(template, dossier, task.data)
    told = []
    for user_id, username in ctx.roster.task_holders(session, dossier.agency_id, ctx.inbox()):
        if (username, message) in ctx.told:
            continue
        queue_insert(session, Notification, user_id=user_id, dossier_id=dossier.id, message=message, created_at=ctx.now)
        ctx.told.add((username, message))
        told.append(username)
    append_event(session, dossier, at=ctx.now, actor="system", role=None, kind="notified", task=task.task_spec.name,
                 data={"recipient": "task_holder", "template": template, "to": told})
    return {"to": told}

OPERATORS = {
    "notify_task_holders": notify_task_holders,
    "receive_dossier": receive_dossier,
    "flag_overdue": flag_overdue,
    "notify": notify,
    "sign_copy": sign_copy,
    "seal_copy": seal_copy,
}
