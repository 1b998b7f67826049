"""Settings, read from the environment with safe embedded defaults (SQLite and dev keys in instance/)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_INSTANCE = Path.cwd() / "instance"


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    secret_key: str
    max_upload_bytes: int = 30 * 1024 * 1024
    processing_hours: float = 4.0
    supplement_timeout: str = "P15D"
    tsa_url: str | None = None
    public_base_url: str = "http://127.0.0.1:5000"
    token_hours: int = 12
    extra: dict = field(default_factory=dict)

    @property
    def files_path(self) -> Path:
        return self.instance_path / "files"

    @property
    def pki_path(self) -> Path:
        return self.instance_path / "pki"

    @property
    def outbox_path(self) -> Path:
        return self.instance_path / "outbox"

    @classmethod
    def load(cls, instance_path: Path | str | None = None, **overrides) -> "Settings":
        instance = Path(instance_path or os.environ.get("CERTCOPY_INSTANCE") or DEFAULT_INSTANCE).resolve()
        instance.mkdir(parents=True, exist_ok=True)
        env = os.environ
        values = dict(
            instance_path=instance,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{instance / 'certcopy.db'}",
            secret_key=env.get("CERTCOPY_SECRET_KEY") or _instance_secret(instance),
            max_upload_bytes=int(env.get("CERTCOPY_MAX_UPLOAD_BYTES", 30 * 1024 * 1024)),
            processing_hours=float(env.get("CERTCOPY_PROCESSING_HOURS", 4)),
            supplement_timeout=env.get("CERTCOPY_SUPPLEMENT_TIMEOUT", "P15D"),
            tsa_url=env.get("CERTCOPY_TSA_URL") or None,
            public_base_url=env.get("CERTCOPY_PUBLIC_URL", "http://127.0.0.1:5000"),
        )
        values.update(overrides)
        return cls(**values)


def _instance_secret(instance: Path) -> str:
    """A random secret generated once per instance folder, never committed."""
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
