"""The conversation service: load, advance, save — one transaction per inbound event.

The dedup key, the new state, the transcript and the outbox rows (replies to send, effects to
run) commit together or not at all, so a crash loses nothing and a replay changes nothing."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.engine.agents import FEEDBACK_FLOW
from bot.engine.engine import Engine, Outcome, UnknownFlowVersion
from bot.engine.events import Effect, InboundEvent, Reply
from bot.engine.loader import parse_flow
from bot.engine.state import HELD, ConversationState
from bot.errors import NoConversation, PosbotError
from bot.guards import Guards, agent_vouched
from bot.handoff import Handoffs
from bot.store.repository import Store
from bot.store.transaction import OutboxItem, Tx
from bot.validation import safe_text


@dataclass(frozen=True, slots=True)
class Handled:
    duplicate: bool
    messages: list[OutboxItem] = field(default_factory=list)  # replies, committed, to deliver
    effects: list[OutboxItem] = field(default_factory=list)  # provider calls, committed, to run
    refused: str | None = None  # an agent's action that could not be applied, and why


def idempotency_key(channel: str, user_id: str, run: int, params: Mapping[str, Any]) -> str:
    """The same request of the same conversation run always files under the same key."""
    parts = [channel, user_id, str(run)]
    parts += [str(params.get(k, "")) for k in ("kind", "merchant_id", "serial")]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def reply_payload(reply: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": reply.text, "keys": list(reply.keys)}
    if reply.buttons:
        payload["buttons"] = [[b.label, b.value] for b in reply.buttons]
    if reply.share_phone:
        payload["share_phone"] = reply.share_phone
    if reply.in_place:
        payload["in_place"] = True
    if reply.attachments:
        payload["attachments"] = [
            {
                "name": a.name,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode(),
            }
            for a in reply.attachments
        ]
    return payload


def effect_payload(effect: Effect, event: InboundEvent, run: int) -> dict[str, Any]:
    params = dict(effect.params)
    if effect.call == "submit":
        params["idempotency_key"] = idempotency_key(event.channel, event.user_id, run, params)
    return {
        "call": effect.call,
        "params": params,
        "token": effect.token,
        "secret": list(effect.secret),
    }


HELD_SET = frozenset(HELD)
log = logging.getLogger("posbot.service")


SUBMIT_ATTEMPTS = 12  # a filing is asked for again this many times after an outage ...
SUBMIT_BACKOFF = timedelta(seconds=30)  # ... waiting twice as long each time, up to an hour


def submit_retry(effect: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    attempt = int(effect.get("attempt", 0)) + 1
    if attempt > SUBMIT_ATTEMPTS:
        log.error("giving up filing %s after %d attempts", effect.get("token"), attempt - 1)
        return []
    wait = min(SUBMIT_BACKOFF * 2 ** (attempt - 1), timedelta(hours=1))
    return [{**effect, "attempt": attempt, "not_before": (now + wait).isoformat()}]


class ConversationService:
    def __init__(self, store: Store, engine: Engine, *, provider: str = "sandbox") -> None:
        self.store = store
        self.engine = engine
        self.provider = provider
        self.guards = Guards(provider)
        self.handoffs = Handoffs()
        self.commit_seconds = 0.0

    def handle(self, event: InboundEvent) -> Handled:
        """One event in its own transaction."""
        result = self.handle_batch([event])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def handle_batch(self, events: Sequence[InboundEvent]) -> list[Handled | Exception]:
        """Several events (of any conversations, in order) in one transaction, each inside its
        own savepoint: one commit — one fsync — for all of them (group commit). An event that
        fails is rolled back alone and gets its exception; nothing is visible before the
        commit, so no reply goes out before what caused it is durable."""
        with self.store.transaction() as tx:
            results = self._handle_each(tx, events)
            handled = time.perf_counter()
        self.commit_seconds = time.perf_counter() - handled  # the commit (and its fsync) alone
        return results

    async def handle_batch_off_loop(
        self, events: Sequence[InboundEvent]
    ) -> list[Handled | Exception]:
        """``handle_batch``, its commit on a worker thread: the loop goes on during the fsync."""
        async with self.store.transaction_off_loop() as tx:
            results = self._handle_each(tx, events)
            handled = time.perf_counter()
        self.commit_seconds = time.perf_counter() - handled
        return results

    def _handle_each(self, tx: Tx, events: Sequence[InboundEvent]) -> list[Handled | Exception]:
        results: list[Handled | Exception] = []
        for event in events:
            try:
                with tx.savepoint():
                    results.append(self._handle(tx, event))
            except Exception as exc:  # one bad event must not take the batch down
                log.exception("event %s/%s failed", event.channel, event.dedup_key)
                results.append(exc)
        return results

    @staticmethod
    def storable(text: str) -> str:
        """What may be kept of a merchant's message outside the engine (an event that could
        not be handled, kept for an operator): redacted like the transcript."""
        return safe_text(text, codes=True)[:2000]

    def set_aside(self, event: InboundEvent) -> Handled:
        """An event that keeps failing: its dedup key is taken (a redelivery changes nothing),
        it stays in ``inboundfailure`` for an operator, and the merchant hears that it could
        not be handled — in their language, without touching the conversation's state."""
        with self.store.transaction() as tx:
            if not tx.claim(event.channel, event.dedup_key):
                return Handled(duplicate=True)
            tx.mark_set_aside(event.channel, event.dedup_key)
            found = tx.conversation_locale(event.channel, event.user_id)
            if found is None:  # the very first message: a conversation to answer in
                state = self.engine.new_state(event)
                state.status = "done"  # nothing asked yet: the next message starts afresh
                conversation_id = _save(tx, None, event, state)
                locale = state.locale
            else:
                conversation_id, locale = found
            text = self.engine.catalog.render(locale, "system.set_aside", {})
            tx.add_transcript(conversation_id, [("in", self.storable(event.text)), ("out", text)])
            queued = tx.enqueue(
                conversation_id,
                event.channel,
                event.user_id,
                [("message", {"text": text, "keys": ["system.set_aside"]})],
                lease_messages=event.lease_replies,
            )
        return Handled(False, queued)

    def send(self, channel: str, user_id: str, text: str, *, key: str = "operator.message") -> int:
        """An operator's message to a merchant, through the outbox like every reply (whoever
        delivers ``channel`` sends it on its own schedule), and kept in the transcript; in one
        transaction. Only to someone who wrote first. ``key`` says who wrote it (an operator, an
        agent). Returns the outbox id."""
        if not text.strip():
            raise PosbotError("nothing to send: the message is empty")
        with self.store.transaction() as tx:
            found = tx.load(channel, user_id)
            if found is None:
                raise NoConversation(channel, user_id)
            conversation_id = found[0]
            tx.add_transcript(conversation_id, [("out", text)])
            [queued] = tx.enqueue(
                conversation_id,
                channel,
                user_id,
                [("message", {"text": text, "keys": [key]})],
            )
        return queued.id

    def _handle(self, tx: Tx, event: InboundEvent) -> Handled:
        if not tx.claim(event.channel, event.dedup_key):
            return Handled(duplicate=True)
        who = f"{event.channel}:{event.user_id}"
        loaded = tx.load(event.channel, event.user_id)
        retry: list[dict[str, Any]] = []
        if event.kind == "effect" and loaded is not None:
            event, retry = self._settle(tx, loaded[0], who, event)
        saved = None if loaded is None else loaded[1]
        if event.kind == "agent":
            why = self.handoffs.admit(tx, None if loaded is None else loaded[0], event)
            if why is not None:
                return Handled(False, refused=why)
        outcome, before = self._advance(tx, saved, event)
        if outcome.error:
            log.error(
                "conversation %s/%s handed to a person: %s",
                event.channel,
                event.user_id,
                outcome.error,
            )
        new = outcome.state
        if event.kind == "agent" and event.payload.get("action") == "verify":
            self._verified_by_agent(tx, saved, event, new, who)
        conversation_id = _save(tx, None if loaded is None else loaded[0], event, new)
        replies = outcome.replies
        if event.kind == "agent" or new.flow == FEEDBACK_FLOW or {before, new.status} & HELD_SET:
            ahead = self.handoffs.after(tx, conversation_id, event, before, new)
            if ahead is not None:  # just joined the queue: their place in it
                text = self.engine.catalog.render(new.locale, "handoff.queue", {"ahead": ahead})
                replies = [*replies, Reply(text, keys=("handoff.queue",))]
        transcript = [] if outcome.inbound_text is None else [("in", outcome.inbound_text)]
        transcript += [("out", reply.text) for reply in replies]
        tx.add_transcript(conversation_id, transcript)
        if event.kind == "status":
            payload = event.payload
            tx.record_status(str(payload["ticket"]), str(payload["state"]), payload.get("reason"))
        effects = []
        for effect in outcome.effects:
            payload = effect_payload(effect, event, new.run)
            refused = self.guards.before(tx, conversation_id, who, payload)
            if refused is not None:
                payload["refused"] = list(refused)
            effects.append(("effect", payload))
        queued = tx.enqueue(
            conversation_id,
            event.channel,
            event.user_id,
            [("message", reply_payload(r)) for r in replies]
            + effects
            + [("effect", payload) for payload in retry],
            lease_messages=event.lease_replies,
        )
        return Handled(
            False,
            [item for item in queued if item.kind == "message"],
            [item for item in queued if item.kind == "effect"],
        )

    def _verified_by_agent(
        self, tx: Tx, saved: str | None, event: InboundEvent, new: ConversationState, who: str
    ) -> None:
        """What the agent checked with the provider proves the phone — once the engine took
        the action (a refused one proves nothing)."""
        if saved and self.engine.refusal(ConversationState.from_json(saved), event.payload) is None:
            agent_vouched(tx, new.slots, who)

    def _settle(
        self, tx: Tx, conversation_id: int, who: str, event: InboundEvent
    ) -> tuple[InboundEvent, list[dict[str, Any]]]:
        """An effect's outcome, before the conversation hears it: its outbox row is done, and
        what the outcome establishes is recorded (it may change the outcome). Returns the
        event the engine sees, and the effects to try again."""
        payload = event.payload
        effect = tx.finish(int(payload["outbox_id"]))
        outcome, data = self.guards.after(
            tx,
            conversation_id,
            who,
            effect,
            (str(payload["outcome"]), dict(payload.get("data") or {})),
        )
        retry = []
        if effect.get("call") == "submit" and outcome == "unavailable":
            # the provider may have filed it and only its answer got lost: ask again, under
            # the same idempotency key, until it answers — the merchant hears the ticket
            retry = submit_retry(effect, tx.now)
        return replace(event, payload={**payload, "outcome": outcome, "data": data}), retry

    def _advance(
        self, tx: Tx, saved: str | None, event: InboundEvent
    ) -> tuple[Outcome, str | None]:
        """The engine's outcome, and the conversation's status before it."""
        state = None if saved is None else ConversationState.from_json(saved)
        before = None if state is None else state.status
        try:
            return self.engine.advance(state, event, saved=saved), before
        except UnknownFlowVersion as missing:
            # a conversation started on a flow version this process has not loaded: the store
            # keeps every version ever served
            source = tx.flow_source(missing.flow, missing.version)
            if source is None:
                raise
            self.engine.flows.add_version(parse_flow(source, f"<stored {missing.flow}>"))
            return self.engine.advance(state, event, saved=saved), before


def _save(
    tx: Tx, conversation_id: int | None, event: InboundEvent, state: ConversationState
) -> int:
    return tx.save(
        conversation_id,
        event.channel,
        event.user_id,
        locale=state.locale,
        flow=state.flow,
        flow_version=state.flow_version,
        step=state.step,
        status=state.status,
        state=state.to_json(),
    )
