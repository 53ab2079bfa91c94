"""The engine: ``advance(state, event) -> Outcome``. Pure — no I/O, no clock, no randomness.

The runtime loads the state, calls ``advance``, and stores the outcome (state, transcript,
replies, effects) in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError

from bot.engine.agents import on_agent
from bot.engine.events import Effect, InboundEvent, Reply
from bot.engine.flow import FlowSet
from bot.engine.intents import ALWAYS, INTENTS, reprompt
from bot.engine.state import ConversationState
from bot.engine.steps.ask import SENSITIVE_MARK
from bot.engine.turn import FlowLoop, Turn
from bot.errors import LocaleError
from bot.i18n import Catalog, resolve_locale
from bot.validation import Validator, inspect, normalize, safe_text

MAX_TEXT = 4000  # what we keep of a message; validators refuse long input on their own
WHILE_WAITING = frozenset({"cancel", "status"})  # words that work while a person is awaited


@dataclass(frozen=True, slots=True)
class Outcome:
    state: ConversationState
    replies: list[Reply]
    effects: list[Effect]
    inbound_text: str | None  # what may be stored of the merchant's message (redacted)
    error: str | None = None  # a flow or message that broke; the merchant went to a person


def code_outstanding(turn: Turn) -> bool:
    """Might six digits typed now be a one-time code the bot sent? From the code question on
    until the provider has answered the check — at whatever step the merchant types them."""
    step = turn.step
    return (
        turn.state.code_outstanding
        or bool(getattr(step, "sensitive", False))
        or bool(getattr(step, "forget", ()))
    )


class UnknownFlowVersion(LookupError):
    """The conversation runs a flow version this engine has not loaded; the runtime loads it."""

    def __init__(self, flow: str, version: str) -> None:
        self.flow, self.version = flow, version
        super().__init__(f"{flow}@{version}")


class Engine:
    def __init__(
        self,
        flows: FlowSet,
        catalog: Catalog,
        validators: Mapping[str, Validator],
        *,
        default_locale: str = "zh_CN",
    ) -> None:
        self.flows = flows
        self.catalog = catalog
        self.validators = validators
        self.default_locale = default_locale
        names = [*INTENTS, *flows.commands]
        self._words = {
            word: name for name in names for word in catalog.words(f"intent.{name}.words")
        }

    def new_state(self, event: InboundEvent) -> ConversationState:
        home = self.flows.current[self.flows.home]
        locale = resolve_locale(event.locale, self.catalog.locales, self.default_locale)
        return ConversationState(home.id, home.version, home.start, locale, run=0)

    def advance(
        self, state: ConversationState | None, event: InboundEvent, *, saved: str | None = None
    ) -> Outcome:
        """The conversation after ``event``. ``saved`` is ``state`` as stored (JSON), when the
        caller has it: what a broken turn falls back to, without serialising it again."""
        fresh = state is None
        if state is None:
            state = self.new_state(event)
        flow = self.flows.get(state.flow, state.flow_version)
        if flow is None:
            raise UnknownFlowVersion(state.flow, state.flow_version)
        before = saved if saved is not None else state.to_json()
        turn = Turn(self, state, flow)
        try:
            self._dispatch(turn, event, fresh)
        except (FlowLoop, LocaleError, LookupError, TypeError, ValueError, TemplateError) as exc:
            # a broken flow or message must not lose the merchant: keep what they had
            # entered, and hand the conversation to a person
            rescue = Turn(self, ConversationState.from_json(before), flow)
            rescue.inbound_text = safe_text(event.text, codes=True)[:MAX_TEXT] or None
            rescue.handoff("flow_error", "handoff.error")
            return Outcome(
                rescue.state,
                rescue.replies,
                [],
                rescue.inbound_text,
                f"{type(exc).__name__}: {exc}",
            )
        return Outcome(turn.state, turn.replies, turn.effects, turn.inbound_text)

    def run_intent(self, turn: Turn, name: str, arg: str) -> None:
        if name in INTENTS:
            INTENTS[name](turn, arg)
        else:
            flow_id, slots = self.flows.commands[name]
            turn.start_flow(flow_id, slots)

    def _dispatch(self, turn: Turn, event: InboundEvent, fresh: bool) -> None:
        if event.kind == "effect":
            self._on_effect(turn, event.payload)
        elif event.kind == "agent":
            on_agent(turn, event.payload)
        elif event.kind == "status":
            self._on_status(turn, event.payload)
        else:
            self._on_message(turn, event, fresh)

    def _on_message(self, turn: Turn, event: InboundEvent, fresh: bool) -> None:
        # the shield sees the whole message, whatever it turns out to be (a first message, a
        # /command and its words, an answer), before anything of it is kept
        whole = normalize(event.text)
        turn.finding = inspect(whole)
        turn.inbound_text = safe_text(whole, codes=code_outstanding(turn))[:MAX_TEXT]
        text = whole[:MAX_TEXT]
        value = event.payload.get("value") if event.kind == "button" else None
        contact = event.payload.get("contact") if event.kind == "text" else None
        if isinstance(contact, Mapping) and contact.get("own") is True:
            # the channel says the platform checked this number is the sender's own
            turn.vouched_phone = {
                "phone": str(contact.get("phone", "")),
                "method": f"{event.channel}_contact",
            }
        state = turn.state
        # a tapped button is an intent only when its value is a command; while a person is
        # awaited, plain words are for that person ("hello" must not leave the queue)
        intent = self._intent(text if value is None else str(value), words=value is None)
        if state.status == "with_agent":
            # a person helps: what the merchant writes is for them (kept, redacted as always);
            # the bot says nothing of its own — only /cancel leaves
            if intent is not None and intent[0] == "cancel" and text.startswith("/"):
                self.run_intent(turn, "cancel", "")
            return
        if intent and state.status == "waiting_agent" and not text.startswith("/"):
            intent = intent if intent[0] in WHILE_WAITING else None
        waiting = "system.busy" if state.status == "waiting_effect" else "handoff.waiting"
        if intent is not None:
            name, arg = intent
            turn.shield()  # "/help 6228 4800 1234 5671": warned, then helped
            if name not in ALWAYS and state.status in ("waiting_effect", "waiting_agent"):
                turn.say(waiting)
            else:
                self.run_intent(turn, name, arg)
        elif fresh or state.status == "done":  # new, or over (and maybe purged): start anew
            turn.shield()
            INTENTS["start"](turn, "")
        elif state.status in ("waiting_effect", "waiting_agent"):
            # at a code question, or while a code is checked, what is typed may be a code
            if getattr(turn.step, "sensitive", False) or getattr(turn.step, "forget", ()):
                turn.inbound_text = SENSITIVE_MARK  # typed at a code question: never stored
                turn.say(waiting)
            elif not turn.shield():
                turn.say(waiting)
        elif getattr(turn.step, "shields_itself", False) or not turn.shield():
            turn.step.handle(turn, text, None if value is None else str(value))

    def _intent(self, text: str, *, words: bool = True) -> tuple[str, str] | None:
        if text.startswith("/"):
            head, _, arg = text[1:].partition(" ")
            name = head.split("@", 1)[0].lower()
            if name in INTENTS or name in self.flows.commands:
                return name, arg.strip()
            return None
        intent = self._words.get(text.lower()) if words else None
        return None if intent is None else (intent, "")

    def _on_effect(self, turn: Turn, payload: Mapping[str, Any]) -> None:
        state = turn.state
        outcome, data = str(payload["outcome"]), dict(payload.get("data") or {})
        if payload.get("token") != state.awaiting:
            # stale: the merchant moved on. A filing that went through is never dropped.
            if payload.get("call") == "submit" and outcome == "filed":
                turn.track_request(data["ticket"], str(data.get("kind", "")), data["state"])
                turn.say("status.filed_late", ticket=data["ticket"])
            return
        state.awaiting = None
        state.status = "active"
        turn.step.on_result(turn, outcome, data)

    def _on_status(self, turn: Turn, payload: Mapping[str, Any]) -> None:
        ticket, new_state = str(payload["ticket"]), str(payload["state"])
        reason: str | None = payload.get("reason")
        tracked = turn.state.request(ticket)
        if tracked is not None and (tracked.state, tracked.reason) == (new_state, reason):
            return
        turn.track_request(ticket, str(payload.get("kind", "")), new_state)
        tracked = turn.state.request(ticket)
        assert tracked is not None
        tracked.reason = reason
        turn.say(f"status.{new_state}", ticket=ticket, reason=reason or "", kind=tracked.kind)
        if turn.state.status == "active" and turn.step.interactive and turn.step.kind != "end":
            reprompt(turn)
