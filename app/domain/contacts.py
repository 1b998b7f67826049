"""How an e-mail address and a Vietnamese phone number are written (a mobile or landline number: 0 and 9–10
digits, or +84 and 9–10 digits)."""
from __future__ import annotations

import re

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^(\+84|0)\d{9,10}$")
