"""A scheduled report sent by mail: the first page as the body, the files attached, through the
organisation's relay (smtplib: STARTTLS on 587, TLS from the start on 465, or none)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from fleetprint.collector.settings import SmtpSettings
from fleetprint.report.produce import content_type


def build_message(sender: str, recipients: list[str], subject: str, body: str, files: list[Path]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    for path in files:
        maintype, subtype = content_type(path).split("/")
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.ca_file or None)


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand the message to the relay; raises OSError or smtplib.SMTPException when it cannot."""
    if settings.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_s,
                                                context=_tls_context(settings))
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
    with client:
        if settings.security == "starttls":
            client.starttls(context=_tls_context(settings))
        if settings.username:
            client.login(settings.username, Path(settings.password_file).read_text(encoding="utf-8").strip())
        client.send_message(message)
