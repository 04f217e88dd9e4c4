"""BackTalk domain logic: plain Python that knows nothing of Rasa.

Rasa actions (``actions/``) and channels (``bot.web``, ``bot.telegram``) are adapters around it.
"""
