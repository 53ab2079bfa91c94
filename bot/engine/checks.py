"""Semantic checks of a loaded FlowSet: every problem named with file, line, flow and step.

Run by ``posbot flows check`` and at start-up; a flow that fails them never serves a merchant."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from jinja2 import TemplateSyntaxError

from bot.engine.calls import CALLS
from bot.engine.expressions import compile_condition
from bot.engine.flow import Flow, FlowSet
from bot.engine.intents import INTENTS
from bot.engine.loader import step_lines
from bot.engine.steps import Action, Ask, Branch, Choice, Confirm, End, Handoff, Step
from bot.errors import FlowError
from bot.i18n import Catalog
from bot.request_states import REQUEST_STATES
from bot.validation import VALIDATOR_KEYS

# messages the engine itself says, whatever the flows
SYSTEM_KEYS: tuple[str, ...] = (
    "menu.welcome",
    "choice.unknown",
    "retry.left",
    "word.yes",
    "word.no",
    "system.busy",
    "system.cancelled",
    "system.cancelled_filed",
    "system.cancelled_filing",
    "system.restarted",
    "system.back_unavailable",
    "system.help",
    "system.lang_usage",
    "system.lang_changed",
    "handoff.requested",
    "handoff.retries",
    "handoff.waiting",
    "handoff.left",
    "handoff.error",
    "shield.card",
    "shield.code",
    "shield.password",
    "shield.id",
    "status.none",
    "status.filed_late",
    *(f"status.{state}" for state in REQUEST_STATES),
    *(f"intent.{name}.words" for name in INTENTS),
    *VALIDATOR_KEYS,
)


def _falls_through(step: Step) -> bool:
    """Whether the step may go on to the step below it (when it names no 'next')."""
    if isinstance(step, End | Handoff | Confirm):
        return False
    if isinstance(step, Action):
        return not (step.otherwise or set(step.on) >= CALLS.get(step.call, frozenset()))
    if isinstance(step, Branch):
        return step.otherwise is None
    if isinstance(step, Choice):
        return any(not (o.next or o.flow or o.intent) for o in step.options)
    return True


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        step_id = todo.pop()
        if step_id in seen or step_id not in flow.steps:
            continue
        seen.add(step_id)
        step = flow.steps[step_id]
        todo.extend(step.targets())
        following = flow.next_after(step_id)
        if following and _falls_through(step):
            todo.append(following)
    return seen


def _flow_problems(
    flow: Flow, flows: FlowSet, catalog: Catalog, validators: Iterable[str]
) -> Iterator[tuple[str | None, str]]:
    known_validators = set(validators)
    reachable = _reachable(flow)
    for step in flow.steps.values():
        sid = step.id
        for target in step.targets():
            if target not in flow.steps:
                yield sid, f"goes to '{target}', which is not a step of this flow"
        if sid not in reachable:
            yield sid, "cannot be reached from the start of the flow"
        if _falls_through(step) and not step.next and flow.next_after(sid) is None:
            yield sid, "is the last step but does not say where to go next (add 'next')"
        for key in step.message_keys():
            for locale in catalog.locales:
                if not catalog.has(locale, key):
                    yield sid, f"message '{key}' is missing from locale {locale}"
        for expression in step.expressions():
            try:
                compile_condition(expression)
            except TemplateSyntaxError as exc:
                yield sid, f"condition {expression!r} is not a valid expression: {exc.message}"
        if isinstance(step, Ask) and step.validator not in known_validators:
            yield sid, f"unknown validator '{step.validator}' (known: {sorted(known_validators)})"
        if isinstance(step, Choice):
            for option in step.options:
                if option.flow and option.flow not in flows.current:
                    yield sid, f"option '{option.value}' starts unknown flow '{option.flow}'"
                if option.intent and option.intent not in INTENTS:
                    yield sid, f"option '{option.value}' names unknown intent '{option.intent}'"
        if isinstance(step, Action):
            outcomes = CALLS.get(step.call)
            if outcomes is None:
                yield sid, f"unknown call '{step.call}' (known: {sorted(CALLS)})"
                continue
            for outcome in set(step.on) - outcomes:
                yield sid, f"'{step.call}' never has the outcome '{outcome}'"
            if not step.otherwise and (missing := sorted(outcomes - set(step.on))):
                yield sid, f"outcomes {missing} of '{step.call}' are not handled (add 'otherwise')"


def check_flows(
    flows: FlowSet, catalog: Catalog, validators: Mapping[str, object] | Iterable[str]
) -> list[FlowError]:
    errors: list[FlowError] = []
    names = list(validators)
    for flow in flows:
        lines = step_lines(flow.source)
        for step_id, message in _flow_problems(flow, flows, catalog, names):
            errors.append(
                FlowError(
                    message,
                    file=flow.file,
                    line=lines.get(step_id or ""),
                    flow=flow.id,
                    step=step_id,
                )
            )
        for command in flow.commands:
            problems = [f"command '/{command}' is a built-in intent"] if command in INTENTS else []
            problems += [
                f"message 'intent.{command}.words' is missing from locale {locale}"
                for locale in catalog.locales
                if not catalog.has(locale, f"intent.{command}.words")
            ]
            errors += [FlowError(p, file=flow.file, line=1, flow=flow.id) for p in problems]
    homes = [flow.id for flow in flows if flow.home]
    if len(homes) != 1:
        errors.append(
            FlowError(f"exactly one flow must say 'home: true' (found {homes})", file="flows/")
        )
    for key in SYSTEM_KEYS:
        for locale in catalog.locales:
            if not catalog.has(locale, key):
                errors.append(
                    FlowError(
                        f"message '{key}' is missing from locale {locale}",
                        file=f"locales/{locale}/LC_MESSAGES/messages.po",
                    )
                )
    return errors
