"""Instrument definitions (data/questionnaires/*.yml) turned into items, options and skip logic."""
from bot.questionnaires.model import Item, Option, Questionnaire
from bot.questionnaires.loader import load_triage
from bot.questionnaires.flow import TriageFlow

__all__ = ["Item", "Option", "Questionnaire", "TriageFlow", "load_triage"]
