"""Reference codes ``BT-XXXX-XXXX``: the only link between a chat and a person, given by the patient
to their clinician. Letters and digits without 0/O/1/I, so a code read aloud or handwritten survives."""
from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PATTERN = re.compile(rf"^BT-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def new_reference_code() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"BT-{chars[:4]}-{chars[4:]}"


def is_reference_code(value: str) -> bool:
    return bool(PATTERN.match(value))
