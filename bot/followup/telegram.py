"""Writing a follow-up to a patient's Telegram chat: the chat id comes from the encrypted chat map
(bot.telegram.chats), the message goes through the same Bot API sender as clinic notifications."""
from __future__ import annotations

from bot.notify.sender import DeliveryError
from bot.notify.telegram import TelegramSender
from bot.telegram.chats import ChatDirectory, InvalidToken


class TelegramMessenger:
    def __init__(self, directory: ChatDirectory, sender: TelegramSender) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, pseudonym: str, text: str) -> None:
        try:
            chat_id = self.directory.chat_id(pseudonym)
        except InvalidToken:
            raise DeliveryError("the chat id cannot be decrypted (BACKTALK_ENCRYPTION_KEY changed?)",
                                permanent=True) from None
        if chat_id is None:  # /forget removed the mapping: nobody to write to, and no right to
            raise DeliveryError("the chat is no longer known", permanent=True)
        self.sender.send_text(text, str(chat_id))
