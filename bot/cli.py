"""The ``posbot`` command: chat in a terminal, run the bot's server, send an operator's message,
check flows, migrate and purge the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from bot.bootstrap import App, build, load_engine, make_provider, make_sandbox, providers_of
from bot.channels.terminal import TerminalChat
from bot.engine.loader import load_flows
from bot.errors import ConfigError, ConfigErrors, FlowErrors, PosbotError
from bot.i18n import resolve_locale
from bot.logs import log_to_file
from bot.providers.embedded import embedded_sandbox
from bot.providers.http import HttpProvider
from bot.settings import Settings, config_errors
from bot.understanding import Understanding
from bot.understanding.model import INTENTS_FILE
from bot.validation import (
    DEFAULT_MERCHANT_ID_PATTERN,
    mask_merchant_id,
    mask_phone,
    mask_serial,
)
from bot.validation import validators as make_validators

_PATTERN = DEFAULT_MERCHANT_ID_PATTERN
MASKS = {"merchant_id": mask_merchant_id, "serial": mask_serial, "phone": mask_phone}

app = typer.Typer(
    help="posbot: deregister (注销) or stop (停机) a POS terminal.", no_args_is_help=True
)
flows_app = typer.Typer(help="Flow files.")
db_app = typer.Typer(help="The database.")
wechat_app = typer.Typer(help="The WeChat Official Account (公众号).")
app.add_typer(wechat_app, name="wechat")
app.add_typer(flows_app, name="flows")
app.add_typer(db_app, name="db")
agents_app = typer.Typer(help="Console agents.")
app.add_typer(agents_app, name="agents")
console = Console(highlight=False, soft_wrap=True)


def _say(text: str) -> None:
    console.print(text, markup=False)


@contextlib.contextmanager
def operator_errors() -> Iterator[None]:
    """What an operator must fix (a setting, a folder, the database, a flow) is printed as one
    line per problem on stderr, and the command exits with status 2: no traceback."""
    try:
        yield
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        _refuse(config_errors(exc).errors, exc)
    except (ConfigErrors, FlowErrors) as exc:
        _refuse(exc.errors, exc)
    except PosbotError as exc:
        _refuse([exc], exc)


def _refuse(problems: Sequence[Exception], exc: Exception) -> NoReturn:
    for problem in problems:
        typer.echo(f"posbot: {problem}", err=True)
    raise typer.Exit(2) from exc


def _log_to_file(settings: Settings) -> logging.Handler:
    """The chat owns the terminal; logs (and the sandbox's texts) go to var/posbot.log."""
    try:
        return log_to_file(settings.log_file)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the log file {settings.log_file}: {exc.strerror}",
            setting="POSBOT_LOG_FILE",
            hint="point it at a file in a folder posbot may write to",
        ) from exc


async def _chat(settings: Settings, user: str, lang: str | None, wait: float) -> None:
    texts: list[str] = []  # the sandbox's texts to the phone, shown after the bot's replies

    def show_sms(phone: str, code: str) -> None:
        if settings.demo:
            texts.append(f"[sandbox SMS to {mask_phone(phone)}: {code}]")

    async with embedded_sandbox(settings, on_sms=show_sms) as settings:
        built = build(settings, provider=make_provider(settings, on_sms=show_sms))
        try:
            await _chat_with(built, settings, user, lang, wait, texts)
        finally:
            built.store.engine.dispose()
            for provider in providers_of(built.provider):
                if isinstance(provider, HttpProvider):
                    await provider.aclose()


async def _chat_with(
    built: App, settings: Settings, user: str, lang: str | None, wait: float, texts: list[str]
) -> None:
    chat = TerminalChat(
        built.runtime,
        user_id=user,
        locale=lang,
        write=_say,
        exports_dir=settings.exports_dir,
        notices=texts,
    )
    await built.runtime.sweep()  # effects a crashed run committed but never ran
    if sys.stdin.isatty():
        await _interactive(chat, settings.poll_seconds)
    else:
        await _scripted(chat, settings.poll_seconds, wait)


async def _interactive(chat: TerminalChat, poll_seconds: float) -> None:
    async def poll_forever() -> None:
        while True:
            await asyncio.sleep(poll_seconds)
            await chat.poll()

    await chat.resume()
    poller = asyncio.create_task(poll_forever())
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            if line.strip():
                await chat.send(line)
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller


async def _scripted(chat: TerminalChat, poll_seconds: float, wait: float) -> None:
    """One merchant message per line; after the last, follow open requests up to ``wait`` s."""
    chat.flush()
    for line in sys.stdin:
        if line.strip():
            _say(f"> {line.rstrip()}")
            await chat.send(line)
    deadline = time.monotonic() + wait
    await chat.poll()
    while chat.open_requests() and time.monotonic() < deadline:
        await asyncio.sleep(min(poll_seconds, 0.2))
        await chat.poll()


@app.command()
def chat(
    lang: Annotated[str | None, typer.Option(help="zh or en; zh by default")] = None,
    user: Annotated[str, typer.Option(help="who you are in the store")] = "local",
    wait: Annotated[float, typer.Option(help="scripted: seconds to follow status")] = 30.0,
) -> None:
    """Talk to the bot in this terminal (scripted when stdin is not a terminal)."""
    with operator_errors():
        settings = Settings()
        _log_to_file(settings)
        asyncio.run(_chat(settings, user, lang, wait))


@app.command()
def run() -> None:
    """Serve every channel whose settings are present, health on POSBOT_HTTP_PORT, and the
    background work; until SIGTERM or Ctrl-C."""
    from bot.server import Hiding, echo_warnings, secrets_of, serve  # fastapi, uvicorn: only here

    with operator_errors():
        settings = Settings()
        _log_to_file(settings).addFilter(Hiding(secrets_of(settings)))
        echo_warnings(settings)
        asyncio.run(serve(settings, say=typer.echo))


@app.command("sandbox-provider")
def sandbox_provider(
    port: Annotated[int, typer.Option(help="the loopback port to listen on")] = 8090,
    webhook_url: Annotated[
        str | None, typer.Option(help="where status webhooks go, e.g. posbot's /providers/…")
    ] = None,
    review_seconds: Annotated[
        float | None, typer.Option(help="seconds per review stage (POSBOT_SANDBOX_REVIEW_SECONDS)")
    ] = None,
    generate: Annotated[
        int, typer.Option(help="add this many clean terminals (BENCH0001000, …) to the demo ones")
    ] = 0,
    generate_from: Annotated[
        int, typer.Option(help="the first generated terminal's number")
    ] = 1000,
) -> None:
    """The sandbox provider as an HTTP service of its own, on 127.0.0.1 and its own SQLite file
    (POSBOT_SANDBOX_DATABASE); bearer token POSBOT_SANDBOX_TOKEN, webhooks signed with
    POSBOT_SANDBOX_WEBHOOK_SECRET. Until SIGTERM or Ctrl-C."""
    from bot.providers.sandbox_server import SandboxServer

    with operator_errors():
        settings = Settings()
        if review_seconds is not None:
            settings.sandbox_review_seconds = review_seconds
        provider = make_sandbox(settings)
        provider.generate_terminals(generate, start=generate_from)
        token, secret = settings.sandbox_token, settings.sandbox_webhook_secret
        if webhook_url and secret is None:
            raise ConfigError(
                "is needed with --webhook-url",
                setting="POSBOT_SANDBOX_WEBHOOK_SECRET",
                hint="set it to a random string of 16 characters or more",
            )

        async def serve() -> None:
            try:
                server = SandboxServer(
                    provider,
                    token=None if token is None else token.get_secret_value(),
                    webhook_url=webhook_url,
                    webhook_secret=None if secret is None else secret.get_secret_value(),
                    port=port,
                )
            except OSError as exc:
                raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
            await server.start()
            typer.echo(f"posbot sandbox-provider: {server.url}")
            try:
                await server.wait()
            finally:
                await server.stop()

        asyncio.run(serve())


requests_app = typer.Typer(help="Requests at the manual and e-mail providers (an agent's hand).")
app.add_typer(requests_app, name="requests")


@requests_app.command("set")
def requests_set(
    ticket: Annotated[str, typer.Argument(help="the ticket posbot gave, e.g. MA-000001")],
    state: Annotated[str, typer.Argument(help="submitted, under_review, approved, completed, …")],
    reference: Annotated[str | None, typer.Option(help="the provider's own number")] = None,
    reason: Annotated[
        str | None, typer.Option(help="the provider's words, e.g. on rejection")
    ] = None,
) -> None:
    """Move a request filed by hand or by mail on; `posbot run` tells the merchant."""
    from bot.providers.desk_state import DeskState
    from bot.request_states import REQUEST_STATES

    with operator_errors():
        if state not in REQUEST_STATES:
            raise PosbotError(f"STATE must be one of {', '.join(REQUEST_STATES)}")
        found = DeskState(Settings().desk_database).set(
            ticket, state, reason=reason, reference=reference
        )
        if found is None:
            raise PosbotError(f"no request {ticket} at the manual or e-mail provider")
    typer.echo(f"{ticket}: {state}" + (f" (reference {reference})" if reference else ""))


@app.command()
def send(
    text: Annotated[str, typer.Argument(help="what to write to the merchant")],
    user: Annotated[str, typer.Option(help="the merchant's user id on that channel")],
    channel: Annotated[str, typer.Option(help="the channel they wrote on")] = "telegram",
) -> None:
    """Write to a merchant who wrote first: queued in the outbox; `posbot run` delivers it."""
    with operator_errors():
        built = build(Settings())
        try:
            queued = built.runtime.service.send(channel, user, text)
        finally:
            built.store.engine.dispose()
    typer.echo(f"queued message {queued} to {channel} user {user}")


@agents_app.command("add")
def agents_add(
    name: Annotated[str, typer.Argument(help="the agent's login name")],
    role: Annotated[str, typer.Option(help="agent or admin")] = "agent",
) -> None:
    """Add a console agent, or give an existing one a new password; prints the password once."""
    from bot.console.auth import ROLES, hash_password, new_password

    with operator_errors():
        if role not in ROLES:
            raise PosbotError(f"--role must be one of {', '.join(ROLES)}")
        built = build(Settings())
        try:
            password = new_password()
            if built.store.agent_named(name) is None:
                built.store.add_agent(name, role, hash_password(password))
            else:
                built.store.set_password(name, hash_password(password))
        finally:
            built.store.engine.dispose()
    typer.echo(f"agent {name} ({role}): one-time password {password}")


@wechat_app.command("menu")
def wechat_menu() -> None:
    """Create the account's menu (注销 / 停机 / 进度 / 人工), named from the default locale."""
    from bot.channels.wechat_api import WeChatApi
    from bot.channels.wechat_text import menu_of
    from bot.errors import PlatformError
    from bot.store.tokens import AccessTokens

    with operator_errors():
        settings = Settings()
        if not (settings.wechat_on and settings.wechat_appid and settings.wechat_secret):
            raise ConfigError(
                "is not set", setting="POSBOT_WECHAT_TOKEN", hint="set the WeChat settings first"
            )
        built = build(settings)
        try:
            menu = menu_of(built.engine.catalog, settings.default_locale)
            api = WeChatApi(
                settings.wechat_appid,
                settings.wechat_secret.get_secret_value(),
                settings.wechat_api_base,
                AccessTokens(built.store, "wechat"),
            )
            try:
                asyncio.run(api.create_menu(menu))
            except PlatformError as exc:
                raise ConfigError(f"WeChat refused the menu: {exc}") from exc
        finally:
            built.store.engine.dispose()
    names = [b["name"] for top in menu["button"] for b in top.get("sub_button") or [top]]
    typer.echo("menu created: " + " / ".join(names))


@flows_app.command("check")
def flows_check(
    flows: Annotated[Path | None, typer.Option(help="flows directory")] = None,
    locales: Annotated[Path | None, typer.Option(help="locales directory")] = None,
) -> None:
    """Load and check every flow; print the file and line of every problem (exit status 1),
    or what stops them from loading at all (a folder, a setting: exit status 2)."""
    with operator_errors():
        settings = Settings()
        if flows:
            settings.flows_dir = flows
        if locales:
            settings.locales_dir = locales
        try:
            engine = load_engine(settings, make_provider(settings))
        except FlowErrors as exc:
            for error in exc.errors:
                console.print(str(error), markup=False, style="red")
            raise typer.Exit(1) from exc
        for flow in load_flows(settings.flows_dir):
            console.print(
                f"ok  {flow.file}  {flow.id}@{flow.version}  {len(flow.steps)} steps",
                markup=False,
            )
        console.print(f"{len(engine.catalog.locales)} locales: {', '.join(engine.catalog.locales)}")


@app.command()
def understand(
    lang: Annotated[str, typer.Option(help="the conversation's language: zh or en")] = "zh",
    locales: Annotated[Path | None, typer.Option(help="locales directory")] = None,
) -> None:
    """Read one message per line on stdin; print one JSON line each: {"text", "intent",
    "confidence", "slots"} (intent null when out of scope; numbers found, masked) — to tune
    the examples in locales/<locale>/intents.yaml."""
    with operator_errors():
        settings = Settings()
        if locales:
            settings.locales_dir = locales
        catalogs = [p.parent.name for p in settings.locales_dir.glob(f"*/{INTENTS_FILE}")]
        locale = resolve_locale(lang, catalogs, settings.default_locale)
        understanding = Understanding.load(settings.locales_dir, settings.default_locale)
        checks = make_validators(settings.merchant_id_pattern or _PATTERN, settings.phone_region)
        for line in sys.stdin:
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            meaning = understanding.read(text, locale, checks)
            record = {
                "text": text,
                "intent": meaning.intent,
                "confidence": meaning.confidence,
                "slots": {k: MASKS[k](v) for k, v in meaning.slots.items()},
            }
            typer.echo(json.dumps(record, ensure_ascii=False))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (also done on every start)."""
    with operator_errors():
        build(Settings())
    console.print("database is up to date")


@db_app.command("purge")
def db_purge() -> None:
    """Delete transcripts and dedup keys older than the retention period."""
    with operator_errors():
        built = build(Settings())
        counts = built.store.purge(built.settings.retention_days)
    console.print(", ".join(f"{table}: {n}" for table, n in counts.items()))


if __name__ == "__main__":  # pragma: no cover
    app()
