"""The web chat as a channel of ``posbot run``: always on, served by the one HTTP app.

Unlike Telegram it has no sender of its own: a page pulls its replies (the stream, the history,
the answer to its POST) and marks them delivered as it gets them. So there is nothing to start
or stop beyond the routes; open streams end when the server says it is exiting."""

from __future__ import annotations

from fastapi import FastAPI

from bot.bootstrap import App
from bot.channels.base import Channel
from bot.channels.webchat.pages import WebChat
from bot.channels.webchat.views import CHANNEL
from bot.errors import ConfigError
from bot.secret_key import secret_key


class WebChatChannel(Channel):
    name = CHANNEL
    # a reply's files are kept in its outbox row and downloaded from there: beyond this a row
    # is no place for them, and the file is linked from ``exports_dir`` instead
    max_attachment_bytes = 20_000_000

    def __init__(self, app: App) -> None:
        self.app = app
        try:
            key = secret_key(app.settings)
        except OSError as exc:  # var/ read-only, the key file unreadable
            raise ConfigError(
                f"the web chat's signing key cannot be kept in {app.settings.secret_key_file} "
                f"({exc.strerror})",
                setting="POSBOT_SECRET_KEY",
                hint="set it (16 characters or more, the same for every process), or make "
                "that folder writable",
            ) from exc
        self.chat = WebChat(app, key)

    def mount(self, http: FastAPI) -> None:
        self.chat.mount(http)

    async def start(self) -> None:
        """Nothing runs in the background: each open page has its own stream."""

    async def stop(self) -> None:
        """Nothing to stop: the streams end with the server."""

    def describe(self) -> str:
        host, port = self.app.settings.http_host, self.app.settings.http_port
        shown = f"[{host}]" if ":" in host else host
        if host in ("0.0.0.0", "::"):  # every address: this machine's own is the one to open
            shown = "127.0.0.1"
        return f"web chat: http://{shown}:{port}/"
