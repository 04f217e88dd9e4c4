"""BackTalk's own self-management guide: data/guide/<lang>.yml checked at load time (content.py),
rendered as accessible HTML pages (render.py) served by bot.web under /guide/ (web.py), and the
links a care plan gives to a patient's pages (links.py). Plain Python: no Rasa imports."""
