"""SQLAlchemy models: the database is the source of truth for dossiers and their workflow state."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset by itself)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


ROLES = ("citizen", "one_stop", "leader", "justice_officer", "signer", "clerk", "admin", "auditor")
STAFF_ROLES = ("one_stop", "leader", "justice_officer", "signer", "clerk")
LEVELS = ("province", "district", "commune")


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    seal_image_sha256: Mapped[str | None] = mapped_column(String(64))
    appointment_capacity: Mapped[int | None] = mapped_column(Integer)  # places per hourly slot; None: default

    parent: Mapped[Agency | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    id_number: Mapped[str | None] = mapped_column(String(12), unique=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    signature_image_sha256: Mapped[str | None] = mapped_column(String(64))
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

    agency: Mapped[Agency | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> list[str]:
        return sorted(r.role for r in self.role_rows)

    def has_role(self, role: str) -> bool:
        return any(r.role == role for r in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class SigningCredential(Base):
    """A PKCS#12 container for a signer (kind=signer) or an agency seal (kind=seal); the passphrase is never stored."""
    __tablename__ = "signing_credentials"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    pkcs12_sha256: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # certificate details read at upload (the container itself is stored encrypted, see services/keys.py)
    subject_dn: Mapped[str | None] = mapped_column(String(500))
    issuer: Mapped[str | None] = mapped_column(String(500))
    serial_number: Mapped[str | None] = mapped_column(String(80))
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    fingerprint_sha256: Mapped[str | None] = mapped_column(String(64))
    key_usage: Mapped[str | None] = mapped_column(String(255))
    uploaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    uploaded_by: Mapped[str | None] = mapped_column(String(80))


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("variant", "version"), UniqueConstraint("variant", "sha256"))
    id: Mapped[int] = mapped_column(primary_key=True)
    variant: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(80))


class Document(Base):
    """A stored file (content-addressed by SHA-256) attached to a dossier."""
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # original | supplement | certified_copy
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Dossier(Base):
    __tablename__ = "dossiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(16))
    document_type: Mapped[str] = mapped_column(String(255))
    copies: Mapped[int] = mapped_column(Integer)
    delivery: Mapped[str] = mapped_column(String(16))
    payment: Mapped[str] = mapped_column(String(16))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(255))
    applicant_email: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(24), index=True)
    variant: Mapped[str] = mapped_column(String(16))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    workflow_state: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[int] = mapped_column(Integer)
    fee_amount: Mapped[int] = mapped_column(Integer)
    fee_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    next_timer_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # timer retries (issue 7): a dossier whose timers failed waits until timer_retry_at (exponential backoff)
    timer_attempts: Mapped[int] = mapped_column(Integer, default=0)
    timer_retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    timer_error: Mapped[str | None] = mapped_column(String(500))
    due_soon_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    original_sha256: Mapped[str] = mapped_column(String(64))
    attested_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    certification_number: Mapped[int | None] = mapped_column(Integer)
    register_id: Mapped[int | None] = mapped_column(ForeignKey("registers.id"))
    certified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    event_head: Mapped[str] = mapped_column(String(64), default="")
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    loop_rounds: Mapped[int] = mapped_column(Integer, default=0)  # supplement and rework rounds so far
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    # postal delivery of the result (delivery == "post"): where to send it, a phone for the postman, and the
    # postal item number (số hiệu bưu gửi) the one-stop desk records at the return step
    postal_address: Mapped[str | None] = mapped_column(String(500))
    postal_phone: Mapped[str | None] = mapped_column(String(20))
    postal_tracking: Mapped[str | None] = mapped_column(String(64))

    agency: Mapped[Agency] = relationship(lazy="joined")
    applicant: Mapped[User | None] = relationship(foreign_keys=[applicant_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    process_version: Mapped[ProcessVersion] = relationship()
    register: Mapped[Register | None] = relationship()


class HumanTask(Base):
    """The inbox: one row per READY user task, kept in line with the workflow after every step."""
    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_inbox_agency_role_due", "agency_id", "role", "due_at"),
        Index("ix_inbox_agency_name_due", "agency_id", "name", "due_at"),  # the staff queues (one task name each)
        Index("ix_inbox_citizen", "citizen_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    dossier: Mapped[Dossier] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")


class Event(Base):
    """Append-only audit event; `hash` chains to the previous event of the same dossier."""
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("dossier_id", "seq"), Index("ix_events_at", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(80), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    task: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    data: Mapped[dict] = mapped_column(JSON)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    dossier: Mapped[Dossier] = relationship()


class Register(Base):
    """Sổ chứng thực: numbers run start, start+1, … with no gap and no duplicate."""
    __tablename__ = "registers"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    start_number: Mapped[int] = mapped_column(Integer)
    next_number: Mapped[int] = mapped_column(Integer)
    opened_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)

    agency: Mapped[Agency] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.name}-SCTĐT/BS"


class RegisterEntry(Base):
    __tablename__ = "register_entries"
    __table_args__ = (UniqueConstraint("register_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    number: Mapped[int] = mapped_column(Integer)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), unique=True)
    applicant_name: Mapped[str] = mapped_column(String(255))
    document_type: Mapped[str] = mapped_column(String(255))
    certified_at: Mapped[datetime] = mapped_column(UtcDateTime())
    signer_name: Mapped[str] = mapped_column(String(255))


class Notification(Base):
    """In-app message to a user; e-mail copies go through the outbox."""
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxMessage(Base):
    """An e-mail to send exactly once; `dedup_key` makes a retried step idempotent."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # delivery bookkeeping (app/adapters/outbox.py): a sender claims a row for a while, retries with back-off
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Counter(Base):
    """Named sequences (dossier codes per agency and day)."""
    __tablename__ = "counters"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)



# -- deadlines, timers and the scheduler (issue 7) -------------------------------------------------------------
Index("ix_dossiers_agency_due", Dossier.agency_id, Dossier.due_at)
Index("ix_dossiers_due_at", Dossier.due_at)


class AgencyCalendar(Base):
    """An agency's working calendar (working periods, weekdays, cutoff, extra days off, make-up days).

    `scope` is "default" (every agency without its own) or "agency:<id>"."""
    __tablename__ = "agency_calendars"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    config: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(80))


class SchedulerClaim(Base):
    """A piece of scheduled work done once across every scheduler (key e.g. "reminder:<appointment>:<date>")."""
    __tablename__ = "scheduler_claims"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime())

__all__ = [
    "Base", "Agency", "User", "UserRole", "SigningCredential", "ProcessVersion", "Document", "Dossier",
    "HumanTask", "Event", "Register", "RegisterEntry", "Notification", "OutboxMessage", "Counter",
    "AgencyCalendar", "SchedulerClaim",
    "ROLES", "STAFF_ROLES", "LEVELS"
]


# -- citizen portal: appointments, payments, ratings (issue 5) -------------------------------------------------
class Appointment(Base):
    """Lịch hẹn: a citizen books an hourly slot at an agency to bring the original; code `CTĐT-{ddmmyy}-{seq:04}`.

    `status`: booked | moved (staff moved it, still to come) | converted (a dossier was made) | cancelled.
    `booked_day`/`booked_slot` keep the time first booked; `day`/`slot` are the current time."""
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_agency_day", "agency_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(16))
    document_type: Mapped[str] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(5))
    booked_day: Mapped[date] = mapped_column(Date)
    booked_slot: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(16), index=True)
    move_reason: Mapped[str | None] = mapped_column(Text)
    moved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"))
    reminded_for: Mapped[date | None] = mapped_column(Date)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    agency: Mapped[Agency] = relationship(lazy="joined")
    citizen: Mapped[User] = relationship(foreign_keys=[citizen_id], lazy="joined")
    dossier: Mapped[Dossier | None] = relationship()


class AppointmentSlot(Base):
    """Places taken in one agency's hourly slot on one day; a booking increments `booked` only below capacity."""
    __tablename__ = "appointment_slots"
    __table_args__ = (UniqueConstraint("agency_id", "day", "start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    day: Mapped[date] = mapped_column(Date)
    start: Mapped[str] = mapped_column(String(5))
    booked: Mapped[int] = mapped_column(Integer, default=0)


class Payment(Base):
    """A fee payment: online through a payment provider (pending → paid | failed), or recorded at the counter."""
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    provider: Mapped[str] = mapped_column(String(24))
    amount_vnd: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    provider_transaction: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    dossier: Mapped[Dossier] = relationship()


class Rating(Base):
    """The citizen's satisfaction with a returned dossier: once, 1–5 stars and an optional comment."""
    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


__all__ += ["Appointment", "AppointmentSlot", "Payment", "Rating"]


class ProcessDryRun(Base):
    """A dry run of a routing version: recorded histories and scenarios replayed against it (report as JSON)."""
    __tablename__ = "process_dry_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    cases: Mapped[int] = mapped_column(Integer)
    differing: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict] = mapped_column(JSON)


class ProcessActivation(Base):
    """Who made which routing version the one new dossiers follow, and when."""
    __tablename__ = "process_activations"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"))
    activated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    activated_by: Mapped[str] = mapped_column(String(80))


__all__ += ["ProcessDryRun", "ProcessActivation"]


class CitizenDocument(Base):
    """Kho dữ liệu của công dân: a file in the citizen's own document store (an original they filed, or a certified
    copy returned to them), content-addressed like `Document`; the same file of the same kind is kept once."""
    __tablename__ = "citizen_documents"
    __table_args__ = (UniqueConstraint("citizen_id", "kind", "sha256", name="uq_citizen_documents_citizen_kind_sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # original | certified_copy
    title: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    certification_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    dossier: Mapped[Dossier | None] = relationship()


__all__ += ["CitizenDocument"]
