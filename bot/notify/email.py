"""E-mail notifications over SMTP (stdlib smtplib).

One connection per message: notifications are rare (a few per clinic per day) and a fresh
connection never trips over a server that dropped an idle one. The worker is a plain synchronous
loop, so smtplib is called directly; its timeout bounds every network step.
"""
from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Iterable, List, Optional

from bot.config import ConfigError, Settings
from bot.notify.messages import Notice
from bot.notify.sender import DeliveryError, redact

@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send. ``password`` is left out of ``repr`` so a logged settings object
    cannot leak it."""

    host: str
    port: int
    sender: str  # the From address
    starttls: bool = True
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    timeout: float = 20.0  # seconds, per network step

    @classmethod
    def from_settings(cls, config: Settings) -> Optional["SmtpSettings"]:
        """SMTP_HOST, SMTP_PORT (587 with STARTTLS, else 25), SMTP_USERNAME, SMTP_PASSWORD,
        SMTP_STARTTLS (default true), SMTP_FROM; None when SMTP_HOST is unset (no e-mail).
        bot/config.py has parsed each; this checks how they fit together."""
        host = (config.smtp_host or "").strip()
        if not host:
            return None
        starttls = config.smtp_starttls
        port = config.smtp_port or (587 if starttls else 25)
        sender = (config.smtp_from or "").strip()
        if "@" not in sender:
            raise ConfigError("SMTP_FROM must be the address notifications come from, e.g. backtalk@clinic.example")
        username = (config.smtp_username or "").strip() or None
        password = config.smtp_password or None
        if username and not starttls and not _is_loopback(host):
            # smtplib would send the password in the clear
            raise ConfigError("SMTP_USERNAME needs SMTP_STARTTLS=true unless SMTP_HOST is this machine")
        return cls(host=host, port=port, sender=sender, starttls=starttls, username=username, password=password)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def recipients(destination: str) -> List[str]:
    """A clinic's ``notify_email`` may list several addresses, separated by commas or semicolons."""
    return [a.strip() for a in destination.replace(";", ",").split(",") if a.strip()]


def build_message(notice: Notice, sender: str, to: List[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = notice.subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to us
    message.set_content(notice.body)
    return message


class EmailSender:
    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    @classmethod
    def from_settings(cls, config: Settings) -> Optional["EmailSender"]:
        settings = SmtpSettings.from_settings(config)
        return cls(settings) if settings is not None else None

    def secrets(self) -> Iterable[str]:
        return [self.settings.password] if self.settings.password else []

    def send(self, notice: Notice, destination: str) -> None:
        to = recipients(destination)
        if not to:
            raise DeliveryError("the clinic has no e-mail address", permanent=True)
        settings = self.settings
        message = build_message(notice, settings.sender, to)
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
                if settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    smtp.login(settings.username, settings.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            raise DeliveryError(self._describe(error), permanent=all(c >= 500 for c in codes)) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(self._describe(error)) from None

    def _describe(self, error: BaseException) -> str:
        return redact(f"SMTP {self.settings.host}:{self.settings.port}: {type(error).__name__}: {error}",
                      self.secrets())

    def close(self) -> None:
        """Nothing held between messages."""
