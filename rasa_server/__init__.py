"""The Rasa server as BackTalk runs it: ``python -m rasa_server run …`` is ``rasa run …`` with one
measured cost removed (see ``__main__``). Like ``actions/``, it is Rasa's side of the house: ``bot/``
never imports it."""
