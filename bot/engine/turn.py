"""One turn of the engine: the state being changed and everything the turn says or asks for.

Steps and intents act on a Turn; the engine builds one per event and returns its outcome."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.engine.events import Attachment, Button, Effect, Reply
from bot.engine.expressions import evaluate
from bot.engine.resume import hold
from bot.engine.state import ConversationState, TrackedRequest
from bot.engine.steps import Step
from bot.understanding import ANSWERS, Meaning
from bot.understanding.normalize import simplified
from bot.validation import Finding, Result, normalize

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.engine.flow import Flow

MAX_HOPS = 64  # steps entered in one turn; more means a flow loops without asking anything
MAX_HISTORY = 50
SHIELD_ORDER = ("card", "id", "password", "code")
OPTION_NUMBER = re.compile(r"[0-9]{1,3}")  # "2" picks the second option; never int() on "①"


class FlowLoop(RuntimeError):
    """A flow went round without stopping to ask the merchant anything."""


class Turn:
    def __init__(self, engine: Engine, state: ConversationState, flow: Flow) -> None:
        self.engine = engine
        self.state = state
        self.flow = flow
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []
        self.inbound_text: str | None = None  # what may be stored of the merchant's message
        self.finding: Finding | None = None  # what the scam shield found in the whole message
        # a phone number the platform vouches for: the sender shared their own contact
        # (Telegram checks it is theirs) — {"phone": ..., "method": "telegram_contact"}
        self.vouched_phone: Mapping[str, str] | None = None
        # files an outcome brought (the application letter of a filing): they go with the next
        # reply said in this turn, and are never kept in the conversation's state
        self.pending_files: list[Attachment] = []
        self._hops = 0
        self._meaning: tuple[str, Meaning] | None = None

    @property
    def step(self) -> Step:
        return self.flow.steps[self.state.step]

    # -- words -------------------------------------------------------------------------------

    def context(self, params: Mapping[str, Any]) -> dict[str, Any]:
        latest = self.state.latest_request
        context: dict[str, Any] = {**self.state.entry, **self.state.slots}
        context["locale"] = self.state.locale
        context["request"] = None if latest is None else vars_of(latest)
        context["t"] = self.text  # a message may name another: {{ t('reason.' ~ reason) }}
        context.update(params)
        return context

    def text(self, key: str, **params: Any) -> str:
        return self.engine.catalog.render(self.state.locale, key, self.context(params))

    def say(
        self,
        *keys: str,
        buttons: Iterable[tuple[str, str] | Button] = (),
        attachments: Iterable[Attachment] = (),
        share_phone: str | None = None,
        in_place: bool = False,
        **params: Any,
    ) -> None:
        """Say the messages ``keys`` as one reply. ``share_phone`` labels a "share my phone
        number" button (where the platform has one); ``buttons`` are (message key, value), or
        Buttons already rendered; ``in_place`` replaces the message whose
        button was tapped instead of sending a new one (where the platform can)."""
        text = "\n".join(self.text(key, **params) for key in keys)
        rendered = tuple(
            b if isinstance(b, Button) else Button(self.text(b[0]), b[1]) for b in buttons
        )
        share = None if share_phone is None else self.text(share_phone)
        files = (*attachments, *self.pending_files)
        self.pending_files = []
        self.replies.append(Reply(text, rendered, files, keys, share, in_place))

    # -- moving ------------------------------------------------------------------------------

    def goto(self, step_id: str | None, *, remember: bool = True) -> None:
        if step_id is None:
            self.go_home()
            return
        self._hops += 1
        if self._hops > MAX_HOPS:
            raise FlowLoop(f"{self.flow.id}: more than {MAX_HOPS} steps in one turn")
        current = self.flow.steps.get(self.state.step)
        if remember and current is not None and current.interactive and current.id != step_id:
            self.state.history = [*self.state.history, current.id][-MAX_HISTORY:]
        self.state.step = step_id
        self.state.cursor = {}
        self.state.status = "active"
        self.step.enter(self)

    def next_of(self, step: Step) -> str | None:
        return step.next or self.flow.next_after(step.id)

    def return_target(self, *, changed: bool = False) -> str | None:
        """Where a correction goes once answered: back to the step that asked for it — or,
        when the answer ``changed`` something that step has to check again, where it says."""
        target, self.state.return_to = self.state.return_to, None
        if target is None or target not in self.flow.steps:
            return None
        return self.flow.steps[target].after_edit(self, self.state.step, changed=changed)

    def start_flow(self, flow_id: str, entry: dict[str, Any]) -> None:
        flow = self.engine.flows.current[flow_id]
        state = self.state
        state.flow, state.flow_version = flow.id, flow.version
        state.slots, state.entry = dict(entry), dict(entry)
        state.history, state.retries, state.cursor = [], {}, {}
        state.return_to = state.awaiting = None
        state.run += 1
        state.step = flow.start
        self.flow = flow
        self.goto(flow.start, remember=False)

    def go_home(self) -> None:
        self.start_flow(self.engine.flows.home, {})

    def emit(self, call: str, params: Mapping[str, Any], *, secret: Iterable[str] = ()) -> None:
        self.state.seq += 1
        token = f"{self.state.run}.{self.state.seq}"
        self.state.awaiting = token
        self.state.status = "waiting_effect"
        self.effects.append(Effect(call, dict(params), token, tuple(secret)))

    def handoff(
        self, reason: str, message: str, *, first: tuple[str, Mapping[str, Any]] | None = None
    ) -> None:
        hold(self, reason)  # the step's progress set aside for when the merchant is back
        if first is None:
            self.say(message)
        else:
            self.say(first[0], message, **first[1])

    def intent(self, name: str, arg: str) -> None:
        self.engine.run_intent(self, name, arg)

    def track_request(self, ticket: str, kind: str, state: str) -> None:
        """Remember a request as the merchant heard of it; ``ticket`` "" is one still being
        filed, replaced by its ticket once it is filed."""
        tracked = self.state.request(ticket) or (self.state.request("") if ticket else None)
        if tracked is None:
            self.state.requests = [*self.state.requests, TrackedRequest(ticket, kind, state)]
        else:
            tracked.ticket, tracked.state = ticket, state
            tracked.kind = kind or tracked.kind

    # -- understanding -----------------------------------------------------------------------

    def evaluate(self, expression: str) -> bool:
        return evaluate(expression, self.context({}))

    def validate(self, validator: str, text: str) -> Result:
        return self.engine.validators[validator](text)

    def shield(self) -> bool:
        """Warn when the message holds a card number, an ID number or a secret (the engine has
        already kept it out of the store); True when it did."""
        if self.finding is None:
            return False
        kind = next(k for k in SHIELD_ORDER if k in self.finding.kinds)
        self.say(f"shield.{kind}")
        return True

    def understand(self, text: str) -> Meaning:
        """What free text means (intent, confidence, numbers found), read once per turn."""
        if self._meaning is None or self._meaning[0] != text:
            engine = self.engine
            meaning = engine.understanding.read(text, self.state.locale, engine.validators)
            self._meaning = (text, meaning)
        return self._meaning[1]

    def match(
        self,
        text: str,
        value: str | None,
        options: Sequence[tuple[str, str]],
        *,
        understand: bool = True,
    ) -> str | None:
        """Which option the merchant meant: a tapped value, its number, its label or words —
        or, with ``understand``, what the free text means ("好的" → yes, "先停一段时间" →
        suspend) when that names exactly one option."""
        values = [v for v, _ in options]
        if value is not None:
            return value if value in values else None
        wanted = simplified(text.strip().lower())  # 確認 is 确认
        if not wanted:
            return None
        found = self._match_words(wanted, options)
        if found is not None or not understand:
            return found
        return self.meant(text, values)

    def meant(self, text: str, values: Sequence[str]) -> str | None:
        """The option value the understood intent of ``text`` stands for, if any."""
        intent = self.understand(text).intent
        if intent is None:
            return None
        wanted = (intent, intent.removeprefix("faq."), *ANSWERS.get(intent, ()))
        return next((v for v in wanted if v in values), None)

    def _match_words(self, wanted: str, options: Sequence[tuple[str, str]]) -> str | None:
        values = [v for v, _ in options]
        if OPTION_NUMBER.fullmatch(wanted) and 1 <= int(wanted) <= len(options):
            return values[int(wanted) - 1]
        catalog = self.engine.catalog
        labels = [(v, normalize(self.text(label)).lower(), label) for v, label in options]
        for v, label_text, label in labels:
            if wanted in (v.lower(), label_text) or wanted in catalog.words(f"{label}.words"):
                return v
        partial = [v for v, label_text, _ in labels if len(wanted) >= 2 and wanted in label_text]
        return partial[0] if len(partial) == 1 else None

    def match_field(self, text: str, fields: Iterable[str]) -> str | None:
        lowered = simplified(text.lower())
        for field in fields:
            if any(word in lowered for word in self.engine.catalog.words(f"field.{field}.words")):
                return field
        return None

    def yes_no(self, text: str, *, understand: bool = True) -> str | None:
        wanted = simplified(text.strip().lower())
        if wanted in self.engine.catalog.words("word.yes"):
            return "yes"
        if wanted in self.engine.catalog.words("word.no"):
            return "no"
        return self.meant(text, ("yes", "no")) if understand and wanted else None


def vars_of(request: TrackedRequest) -> dict[str, Any]:
    return {
        "ticket": request.ticket,
        "kind": request.kind,
        "state": request.state,
        "reason": request.reason,
    }
