"""The composition root: reads Settings once and wires the concrete adapters together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.effects import EffectRunner
from bot.engine.checks import check_flows
from bot.engine.engine import Engine
from bot.engine.intents import INTENTS
from bot.engine.loader import load_flows
from bot.errors import FlowError, FlowErrors
from bot.i18n import Catalog
from bot.providers.base import Provider
from bot.providers.sandbox import SandboxProvider
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


def make_provider(settings: Settings, on_sms: Callable[[str, str], None] | None = None) -> Provider:
    return SandboxProvider(
        review_step_seconds=settings.sandbox_review_seconds if settings.demo else 3600.0,
        fixed_code=settings.sandbox_code,
        on_sms=on_sms,
        database=settings.sandbox_database,
    )


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
    store = Store(database, clock)
    store.save_flow_versions([(f.id, f.version, f.source) for f in engine.flows])
    service = ConversationService(store, engine, provider=provider.name)
    runtime = Runtime(
        service,
        EffectRunner(provider),
        provider,
        store,
        batch=settings.commit_batch,
        batch_ms=settings.commit_batch_ms,
    )
    return App(settings, provider, store, engine, runtime)
