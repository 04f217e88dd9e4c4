# One image for every BackTalk process (Rasa, action server, bot.web, Telegram, notification worker);
# compose.yaml picks the process by its command. Written for a clinic's IT; not built on the
# development machine (it has no Docker) - see docs/deployment.md.
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false \
    BACKTALK_ENV=production \
    BACKTALK_DATA_DIR=/app/var

WORKDIR /app

# Dependencies first (one resolver run against the lock file, DESIGN.md §6), so a code change
# does not reinstall them.
COPY pyproject.toml requirements.lock README.md ./
COPY bot/__init__.py bot/__init__.py
COPY actions/__init__.py actions/__init__.py
RUN pip install --upgrade "pip==24.0" \
 && pip install --constraint requirements.lock . \
 && pip check

COPY . .
RUN pip install --no-deps --constraint requirements.lock . \
 && useradd --system --home-dir /app --shell /usr/sbin/nologin backtalk \
 && mkdir -p /app/var \
 && python -m bot.cli compile-catalogs \
 && python -m bot.cli predictor train --synthetic \
 && rasa train --fixed-model-name backtalk --out models \
 && chown -R backtalk /app/var

USER backtalk
EXPOSE 5005 5055 8000
CMD ["python", "-m", "bot.web"]
