"""bot.web: the patient chat page and its /api/chat proxy to Rasa's REST channel."""
