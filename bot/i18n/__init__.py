"""Message catalogs, language handling and per-language parsing of typed answers."""
from bot.i18n.catalog import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, translate

__all__ = ["DEFAULT_LANGUAGE", "SUPPORTED_LANGUAGES", "translate"]
