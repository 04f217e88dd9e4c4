"""Where the project's data lives, so every module agrees on one layout."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
QUESTIONNAIRE_DIR = DATA_DIR / "questionnaires"
LOCALE_DIR = Path(__file__).resolve().parent / "i18n" / "locales"
PREDICTION_DATA_DIR = DATA_DIR / "prediction"
MODELS_DIR = PROJECT_ROOT / "models"
PREDICTION_MODELS_DIR = MODELS_DIR / "prediction"
