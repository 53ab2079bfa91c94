"""The composition root: reads Settings once and wires the concrete adapters together."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.effects import EffectRunner
from bot.engine.checks import check_flows
from bot.engine.engine import Engine
from bot.engine.intents import INTENTS
from bot.engine.loader import load_flows
from bot.errors import ConfigError, FlowError, FlowErrors
from bot.i18n import Catalog
from bot.providers.base import Directory, Provider
from bot.providers.composite import Composite
from bot.providers.config import load_provider_file
from bot.providers.desk_directory import DeskDirectory
from bot.providers.desk_state import DeskState
from bot.providers.desks import EmailDesk, ManualDesk, Smtp
from bot.providers.http import HttpProvider
from bot.providers.routing import RoutingProvider
from bot.providers.sandbox import SandboxProvider
from bot.providers.terminal_file import load_terminal_file
from bot.runtime import Runtime
from bot.service import ConversationService
from bot.settings import Settings, missing_folder
from bot.store.database import connect, migrate
from bot.store.repository import Clock, Store, utcnow
from bot.understanding import ANSWERS, Understanding
from bot.understanding.model import check_examples
from bot.validation import validators as make_validators


@dataclass
class App:
    settings: Settings
    provider: Provider
    store: Store
    engine: Engine
    runtime: Runtime


def make_sandbox(
    settings: Settings, on_sms: Callable[[str, str], None] | None = None
) -> SandboxProvider:
    """The sandbox itself (in this process): what ``posbot sandbox-provider`` serves."""
    return SandboxProvider(
        review_step_seconds=settings.sandbox_review_seconds if settings.demo else 3600.0,
        fixed_code=settings.sandbox_code,
        on_sms=on_sms,
        database=settings.sandbox_database,
    )


def make_provider(settings: Settings, on_sms: Callable[[str, str], None] | None = None) -> Provider:
    """POSBOT_PROVIDER's provider; with POSBOT_PROVIDER_ROUTES, a router in front of it and the
    providers the table names (each built once)."""
    default = make_one_provider(settings, on_sms)
    if not settings.provider_routes:
        return default
    built: dict[str, Provider] = {settings.provider: default}
    routes: dict[str, Provider] = {}
    for prefix, name in settings.provider_routes.items():
        if not prefix.isdigit():
            raise ConfigError(
                f"{prefix!r} is not a merchant-number prefix (digits)",
                setting="POSBOT_PROVIDER_ROUTES",
                hint='map digits to provider names, e.g. {"1021": "acme"}',
            )
        if name not in built:
            built[name] = make_one_provider(settings.model_copy(update={"provider": name}), on_sms)
        routes[prefix] = built[name]
    return RoutingProvider(default, routes)


def make_one_provider(
    settings: Settings, on_sms: Callable[[str, str], None] | None = None
) -> Provider:
    """The sandbox in this process when nothing else is configured (tests, scripts); otherwise
    the HTTP adapter its provider file describes — the sandbox service too, once it runs
    (``POSBOT_SANDBOX_URL``; ``posbot run`` and ``posbot chat`` start one themselves)."""
    if settings.provider == "sandbox" and settings.sandbox_url is None:
        return make_sandbox(settings, on_sms)
    if settings.provider in ("manual", "email"):
        return make_desk_provider(settings, make_desk_directory(settings, on_sms))
    path = settings.providers_dir / f"{settings.provider}.yaml"
    if not path.is_file():
        raise ConfigError(
            f"there is no provider file {path}",
            setting="POSBOT_PROVIDER",
            hint="name a file in POSBOT_PROVIDERS_DIR (without .yaml), or unset it for the sandbox",
        )
    environ = dict(os.environ)
    for name, value in (
        ("POSBOT_SANDBOX_URL", settings.sandbox_url),
        ("POSBOT_SANDBOX_TOKEN", settings.sandbox_token),
        ("POSBOT_SANDBOX_WEBHOOK_SECRET", settings.sandbox_webhook_secret),
    ):
        if value is not None:
            environ[name] = value if isinstance(value, str) else value.get_secret_value()
    return HttpProvider(load_provider_file(path, environ), environ=environ)


def make_desk_directory(
    settings: Settings, on_sms: Callable[[str, str], None] | None = None
) -> Directory:
    """Where the manual and e-mail providers' terminals come from: the operator's terminal file
    (checked now: every bad line is refused with its file and line); without one, the demo's
    sandbox terminals, or — not a demo — none: an agent then verifies each merchant."""
    pattern = settings.merchant_id_pattern or Provider.merchant_id_pattern
    if settings.desk_terminals is not None:
        entries = load_terminal_file(
            settings.desk_terminals, merchant_id_pattern=pattern, phone_region=settings.phone_region
        )
        return DeskDirectory(entries, merchant_id_pattern=pattern)
    if settings.demo:
        return make_sandbox(settings, on_sms)
    return DeskDirectory(None, merchant_id_pattern=pattern)


def make_desk_provider(settings: Settings, directory: Directory) -> Provider:
    """The manual or e-mail provider: terminals and codes from ``directory``, requests filed by
    hand or by mail."""
    state = DeskState(settings.desk_database)
    if settings.provider == "manual":
        return Composite("manual", directory, ManualDesk(state))
    if settings.provider_email is None:
        raise ConfigError(
            "is needed for the e-mail provider",
            setting="POSBOT_PROVIDER_EMAIL",
            hint="set it to the provider's address requests are mailed to",
        )
    password = settings.smtp_password
    smtp = Smtp(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.provider_email,
        settings.smtp_username,
        None if password is None else password.get_secret_value(),
        settings.smtp_starttls,
    )
    return Composite("email", directory, EmailDesk(state, smtp, settings.letters_dir))


def providers_of(provider: Provider) -> list[Provider]:
    """The providers behind ``provider`` (itself, unless it routes)."""
    return provider.providers if isinstance(provider, RoutingProvider) else [provider]


def retries_itself(provider: Provider) -> bool:
    return any(isinstance(p, HttpProvider) for p in providers_of(provider))


def load_engine(settings: Settings, provider: Provider) -> Engine:
    """Flows and locales, checked together; refuses to start on any problem."""
    catalog = Catalog.load(settings.locales_dir)
    if not catalog.locales:
        raise missing_folder("locales_dir", settings.locales_dir, "<lang>/LC_MESSAGES/messages.po")
    if not any(settings.flows_dir.glob("*.yaml")):
        raise missing_folder("flows_dir", settings.flows_dir, "flow files (*.yaml)")
    flows = load_flows(settings.flows_dir)
    validators = make_validators(
        settings.merchant_id_pattern or provider.merchant_id_pattern, settings.phone_region
    )
    errors = check_flows(flows, catalog, validators)
    known = {*INTENTS, *flows.commands, *ANSWERS}
    for problem in check_examples(settings.locales_dir, known, catalog.has):
        where, _, message = problem.partition(": ")
        errors.append(FlowError(message, file=where))
    if errors:
        raise FlowErrors(errors)
    # the matcher is built here, once, from the examples beside the catalogs
    understanding = Understanding.load(settings.locales_dir, settings.default_locale)
    return Engine(
        flows,
        catalog,
        validators,
        default_locale=settings.default_locale,
        understanding=understanding,
    )


def build(
    settings: Settings | None = None, *, provider: Provider | None = None, clock: Clock = utcnow
) -> App:
    settings = settings or Settings()
    provider = provider or make_provider(settings)
    engine = load_engine(settings, provider)
    database = connect(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    migrate(database)
    store = Store(database, clock, timedelta(seconds=settings.reply_lease_seconds))
    store.save_flow_versions([(f.id, f.version, f.source) for f in engine.flows])
    service = ConversationService(store, engine, provider=provider.name)
    runtime = Runtime(
        service,
        # a provider that retries by itself (HTTP: backoff, circuit breaker) is asked once here
        EffectRunner(
            provider,
            attempts=1 if retries_itself(provider) else 3,
            letters=settings.letters_dir if settings.letter_in_chat else None,
        ),
        provider,
        store,
        batch=settings.commit_batch,
        batch_ms=settings.commit_batch_ms,
    )
    return App(settings, provider, store, engine, runtime)
