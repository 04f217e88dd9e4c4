"""Person-name gazetteers for the scrubber, one file per language in data/privacy/names/.

The lists come from Faker's per-locale name providers (MIT licence): public lists of common first and
last names, not data built from leaked personal records. They are written once by a maintainer with
``python -m bot.privacy.gazetteer`` (Faker is a development dependency) and committed, so the scrubber
needs no Faker and nothing is fetched at run time.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable

from bot.i18n.catalog import SUPPORTED_LANGUAGES
from bot.paths import DATA_DIR

NAMES_DIR = DATA_DIR / "privacy" / "names"
# Faker's locale for each of our languages (Faker calls Norwegian Bokmål no_NO).
FAKER_LOCALES: Dict[str, str] = {
    "en": "en_GB", "de": "de_DE", "es": "es_ES", "fr": "fr_FR", "it": "it_IT", "da": "da_DK",
    "sv": "sv_SE", "nl": "nl_NL", "pl": "pl_PL", "pt": "pt_PT", "hr": "hr_HR", "nb": "no_NO",
}


def _path(language: str) -> Path:
    return NAMES_DIR / f"{language}.txt"


@lru_cache(maxsize=None)
def names(language: str) -> FrozenSet[str]:
    """Lower-cased single-word names of one language's list."""
    lines = _path(language).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def all_names() -> FrozenSet[str]:
    """Every language's names: patients name people from other countries too."""
    return frozenset().union(*(names(language) for language in SUPPORTED_LANGUAGES))


def _faker_names(locale: str) -> Iterable[str]:
    from importlib import import_module

    provider = import_module(f"faker.providers.person.{locale}").Provider
    for attribute in ("first_names", "first_names_male", "first_names_female", "last_names",
                      "last_names_male", "last_names_female"):
        for name in getattr(provider, attribute, ()) or ():
            # Multi-word names ("de la Cruz", "Ana Maria") become their capitalised words.
            yield from (part for part in name.replace("-", " ").split() if part[:1].isupper() and len(part) > 1)


def build() -> None:
    """Write data/privacy/names/<lang>.txt from Faker's providers (maintainers only)."""
    import faker

    NAMES_DIR.mkdir(parents=True, exist_ok=True)
    for language, locale in FAKER_LOCALES.items():
        words = sorted(set(_faker_names(locale)))
        header = f"# Names from Faker {faker.VERSION} ({locale} person provider, MIT licence); one per line.\n"
        _path(language).write_text(header + "\n".join(words) + "\n", encoding="utf-8")
        print(f"{language}: {len(words)} names")


if __name__ == "__main__":
    build()
