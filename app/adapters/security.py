"""Passwords and API tokens."""
from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from app import clock

PASSWORD_METHOD = "scrypt:16384:8:1"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def check_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


class TokenIssuer:
    """Signed bearer tokens carrying the user id and the user's token generation (bumped to revoke)."""

    def __init__(self, secret_key: str, hours: int):
        self.serializer = URLSafeTimedSerializer(secret_key, salt="certcopy-api-token")
        self.max_age = hours * 3600

    def issue(self, user_id: int, generation: int) -> tuple[str, datetime]:
        return self.serializer.dumps({"u": user_id, "g": generation}), clock.now() + timedelta(seconds=self.max_age)

    def read(self, token: str) -> tuple[int, int] | None:
        try:
            payload = self.serializer.loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        return payload.get("u"), payload.get("g")
