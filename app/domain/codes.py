"""Codes shown to citizens and staff: dossier `{agency code}-{yymmdd}-{seq:04}`, appointment `CTĐT-{ddmmyy}-{seq:04}`."""
from __future__ import annotations

from datetime import date


def dossier_code(agency_code: str, day: date, seq: int) -> str:
    return f"{agency_code}-{day:%y%m%d}-{seq:04d}"


def dossier_counter_key(agency_code: str, day: date) -> str:
    return f"dossier:{agency_code}:{day:%y%m%d}"


def appointment_code(day: date, seq: int) -> str:
    return f"CTĐT-{day:%d%m%y}-{seq:04d}"
