"""The twelve languages: their own names for the language buttons, and finding which language a
patient asks for ("auf Deutsch", "po polsku", "in English please")."""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Optional

import yaml

from bot.i18n.answers import longest_match, normalise
from bot.paths import DATA_DIR


@lru_cache(maxsize=None)
def _languages() -> Dict[str, Dict[str, object]]:
    return yaml.safe_load((DATA_DIR / "languages.yml").read_text(encoding="utf-8"))


def label(code: str) -> str:
    """How the language names itself ("Deutsch"), shown on its button."""
    return str(_languages()[code]["label"])


def named_language(text: str) -> Optional[str]:
    """The language the text names, if exactly one; also accepts a bare code ("de", "pt")."""
    stripped = normalise(text)
    if stripped in _languages():
        return stripped
    names = {code: [normalise(str(n)) for n in entry["names"]] for code, entry in _languages().items()}
    return longest_match(text, names)


def language_buttons() -> List[Dict[str, str]]:
    """One button per language, labelled in that language (payload bypasses NLU)."""
    return [{"title": label(code), "payload": f'/language{{"code":"{code}"}}'} for code in _languages()]
