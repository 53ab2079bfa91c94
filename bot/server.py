"""``posbot run``: the one long-running process.

In one asyncio loop: the HTTP app (``bot.http``) on uvicorn, the runtime's background work (effects
left behind and scheduled retries; provider status polling) and every channel whose settings are
present. A channel is built by ``channels_for``, mounted on the HTTP app, started before the
server, and stopped after it, in reverse order:

    listen (refuses a port in use) → build → channels_for → make_http (mount) → start channels
    → background loop → uvicorn until SIGTERM/SIGINT → stop channels → stop the loop → dispose

What was committed stays committed: a channel confirms an update only once its event is, and
replies wait in the outbox for the next start."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence

import uvicorn

from bot.bootstrap import App, build, make_provider, providers_of
from bot.channels.base import Channel
from bot.channels.webchat.channel import WebChatChannel
from bot.console.auth import ensure_admin
from bot.errors import ConfigError
from bot.http import make_http
from bot.logs import FORMAT, Redacting
from bot.providers.embedded import embedded_sandbox
from bot.providers.http import HttpProvider
from bot.runtime import Runtime
from bot.settings import Settings
from bot.validation.masking import mask_phone

log = logging.getLogger("posbot.server")
STOP_SECONDS = 10.0  # a channel, or the background loop, gets this long to stop cleanly
GRACE_SECONDS = 5  # open HTTP requests get this long to finish
WEBHOOK_POLL_ROUNDS = 30  # a provider that pushes its statuses is also polled this rarely


def channels_for(settings: Settings, app: App) -> list[Channel]:
    """The web chat, always, and the channels whose settings are present. A channel's module
    is imported only when it is used, so a missing optional dependency concerns only who uses
    it."""
    channels: list[Channel] = [WebChatChannel(app)]
    if settings.telegram_token is not None:
        try:
            from bot.channels.telegram import TelegramChannel
        except ImportError as exc:
            raise ConfigError(
                f"the Telegram channel cannot load ({exc})",
                setting="POSBOT_TELEGRAM_TOKEN",
                hint="install posbot with its dependencies (aiogram), or unset it",
            ) from exc
        channels.append(TelegramChannel(settings, app))
    if settings.wechat_on:
        try:
            from bot.channels.wechat import WeChatChannel
        except ImportError as exc:
            raise ConfigError(
                f"the WeChat channel cannot load ({exc})",
                setting="POSBOT_WECHAT_TOKEN",
                hint="install posbot with its dependencies (wechatpy[cryptography]), or unset it",
            ) from exc
        channels.append(WeChatChannel(settings, app))
    return channels


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound and listening — so a port in use or a host that is not this
    machine's is refused before anything starts, and nobody can take the port in between."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(
            f"{host!r} is not a host this machine can listen on",
            setting="POSBOT_HTTP_HOST",
            hint="set it to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0",
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _bind_error(host, port, exc) from exc
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> ConfigError:
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            f"port {port} on {host} is in use",
            setting="POSBOT_HTTP_PORT",
            hint="stop what listens there, or choose another port",
        )
    if exc.errno == errno.EACCES:
        return ConfigError(
            f"port {port} needs privileges posbot does not have",
            setting="POSBOT_HTTP_PORT",
            hint="choose a port above 1023",
        )
    return ConfigError(
        f"cannot listen on {host}: {exc.strerror}",
        setting="POSBOT_HTTP_HOST",
        hint="set it to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0",
    )


async def background(
    runtime: Runtime, every: float, stopping: asyncio.Event, *, poll_rounds: int = 1
) -> None:
    """Effects that are due (retries, those a crash left behind) every ``every`` seconds, and
    provider status changes every ``poll_rounds`` such rounds, until ``stopping``; a failure is
    logged and the loop goes on."""
    rounds = 0
    while not stopping.is_set():
        works: list[tuple[str, Callable[[], Awaitable[int]]]] = [("sweep", runtime.sweep)]
        if rounds % poll_rounds == 0:
            works.append(("status polling", runtime.poll_statuses))
        rounds += 1
        for name, work in works:
            try:
                await work()
            except Exception:
                log.exception("%s failed; again in %s s", name, every)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every):  # not wait_for: it can swallow a cancellation
                await stopping.wait()


class Hiding(logging.Filter):
    """Takes the given secrets (a bot token) out of every record a handler writes."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            for secret in self.secrets:
                text = text.replace(secret, "[hidden]")
            record.msg, record.args = text, ()
            if record.exc_text:
                for secret in self.secrets:
                    record.exc_text = record.exc_text.replace(secret, "[hidden]")
        return True


def secrets_of(settings: Settings) -> list[str]:
    return [
        s.get_secret_value()
        for s in (
            settings.telegram_token,
            settings.telegram_webhook_secret,
            settings.wechat_token,
            settings.wechat_secret,
            settings.wechat_aes_key,
        )
        if s is not None
    ]


def echo_warnings(settings: Settings) -> logging.Handler:
    """WARNING and worse also go to stderr, for whoever runs the process — redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(Redacting())
    handler.addFilter(Hiding(secrets_of(settings)))
    logging.getLogger().addHandler(handler)
    return handler


def _print(line: str) -> None:
    print(line, flush=True)  # at once, also into a pipe: a demo's code is awaited there


async def serve(settings: Settings, *, say: Callable[[str], None] = _print) -> None:
    """Run until SIGTERM or SIGINT; ``say`` gets one line per thing served. Refuses to start
    (a ConfigError) on a port in use, a host that is not this machine's, a channel that
    cannot start."""
    sock = listen(settings.http_host, settings.http_port)

    def show_sms(phone: str, code: str) -> None:  # the demo's phone is this terminal
        if settings.demo:
            say(f"posbot run: [sandbox SMS to {mask_phone(phone)}: {code}]")

    try:
        host, port = sock.getsockname()[:2]
        local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown = f"[{local}]" if ":" in local else local
        posbot_url = f"http://{shown}:{port}"
        async with embedded_sandbox(settings, posbot_url=posbot_url, on_sms=show_sms) as settings:
            app = build(settings, provider=make_provider(settings, on_sms=show_sms))
            try:
                await _serve(app, sock, say)
            finally:
                app.store.engine.dispose()
                for provider in providers_of(app.provider):
                    if isinstance(provider, HttpProvider):
                        await provider.aclose()
    finally:
        sock.close()


async def _serve(app: App, sock: socket.socket, say: Callable[[str], None]) -> None:
    settings = app.settings
    channels = channels_for(settings, app)
    http = make_http(app, channels)
    config = uvicorn.Config(
        http,
        log_level="warning",
        lifespan="on",
        log_config=None,  # uvicorn's records go through our handlers: redacted, to the file
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    http.state.exiting = lambda: server.should_exit  # open streams (the web chat's) end
    stopping = asyncio.Event()
    worker: asyncio.Task[None] | None = None
    started: list[Channel] = []
    with _stop_on_signals(server):
        try:
            for channel in channels:
                await _start(channel, secrets_of(settings))
                started.append(channel)
                http.state.running.add(channel.name)
            # with status webhooks, polling is only the safety net for one that got lost
            pushed = isinstance(app.provider, HttpProvider) and app.provider.config.webhook
            worker = asyncio.create_task(
                background(
                    app.runtime,
                    settings.poll_seconds,
                    stopping,
                    poll_rounds=WEBHOOK_POLL_ROUNDS if pushed else 1,
                )
            )
            host, port = sock.getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            for channel in channels:  # the web chat first: it is always on
                say(f"posbot run: {channel.describe()}")
            say(f"posbot run: console: http://{shown}:{port}/console")
            password = ensure_admin(app.store)
            if password is not None:  # the first start: shown once, only its hash is kept
                say(
                    f"posbot run: console login: admin, password {password} (shown this once; "
                    "`posbot agents add NAME --role admin|agent` adds agents or resets one)"
                )
            say(f"posbot run: health: http://{shown}:{port}/healthz")
            if isinstance(app.provider, HttpProvider):
                say(f"posbot run: provider {app.provider.name} at {app.provider.base_url}")
            if settings.demo:
                say(
                    "posbot run: demo mode: the sandbox's one-time codes are printed here "
                    "(the demo terminals are in README.md)"
                )
            await server.serve(sockets=[sock])
        finally:
            await _stop(started, http.state.running)
            stopping.set()
            if worker is not None:
                await _finish(worker)
    say("posbot run: stopped")


async def _start(channel: Channel, secrets: Sequence[str]) -> None:
    try:
        await channel.start()
    except ConfigError:  # a setting the channel itself found wrong: said as it is
        raise
    except Exception as exc:  # the platform refused us, or cannot be reached: nothing runs
        text = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        for secret in secrets:
            text = text.replace(secret, "[hidden]")
        with contextlib.suppress(Exception):
            await channel.stop()
        raise ConfigError(
            f"the {channel.name} channel could not start ({text})",
            hint=f"check the POSBOT_{channel.name.upper()}_* settings and that it can be reached",
        ) from exc


async def _stop(channels: Sequence[Channel], running: set[str]) -> None:
    for channel in reversed(channels):
        try:
            await asyncio.wait_for(channel.stop(), STOP_SECONDS)
        except Exception:  # the others still stop
            log.exception("channel %s did not stop cleanly", channel.name)
        running.discard(channel.name)


async def _finish(worker: asyncio.Task[None]) -> None:
    """The background loop ends its round (a provider call under way completes); if that takes
    too long it is cancelled, and its claims expire for the next start."""
    try:
        await asyncio.wait_for(worker, STOP_SECONDS)
    except TimeoutError:
        log.warning("background work cancelled after %s s", STOP_SECONDS)
    except Exception:
        log.exception("background work failed")


@contextlib.contextmanager
def _stop_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGTERM and SIGINT ask the server to exit, from the first channel's start on. While it
    serves, uvicorn's own handlers take over; when it returns it raises the signal again for
    these handlers, which is then harmless — the channels are stopped cleanly, not killed."""
    if threading.current_thread() is not threading.main_thread():  # only it gets signals
        yield
        return
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, server.handle_exit) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
