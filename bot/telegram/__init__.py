"""The Telegram channel: python-telegram-bot in front of Rasa's REST channel.

| module | job |
|---|---|
| `config`      | TELEGRAM_* settings; long polling or webhook |
| `render`      | Rasa replies -> Telegram messages (inline keyboards, photos, documents, text split <= 4096) |
| `outbox`      | sends them, with retries, and removes keyboards that are no longer current |
| `retry`       | RetryAfter / network-error retries with backoff |
| `locks`       | one lock per chat: chats run in parallel, each chat in order |
| `chats`       | pseudonym -> encrypted chat id (table telegram_chats) |
| `forget`      | /forget: erase everything stored for a chat |
| `channel`     | the handlers: commands, typed text, taps |
| `app`         | the Application; `backtalk telegram` / `python -m bot.telegram` |
| `webhook`     | webhook mode (aiohttp), checks Telegram's secret token |

Rasa is reached through `bot.rasa_client`, shared with bot.web.
"""
