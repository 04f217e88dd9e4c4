"""Rasa SDK actions: thin adapters from trackers and slots to ``bot.*``. No business rule lives here."""
