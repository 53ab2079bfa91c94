"""Global intents: what a merchant can say at any step (/cancel, 返回, help, ...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.engine.resume import resume
from bot.engine.state import HELD
from bot.i18n import resolve_locale
from bot.request_states import FILING, FINAL_STATES

if TYPE_CHECKING:
    from bot.engine.turn import Turn

# intents that still work while the bot waits for the provider or for a person
ALWAYS = frozenset({"help", "status", "lang", "agent", "cancel", "restart", "start"})


def reprompt(turn: Turn) -> None:
    """Show the current question again, if there is one and nothing else is pending."""
    if turn.step.interactive and turn.state.status == "active":
        turn.step.reprompt(turn)  # where it was: a checklist stays at its item


def start(turn: Turn, arg: str) -> None:
    turn.say("menu.welcome")
    turn.go_home()


def cancel(turn: Turn, arg: str) -> None:
    if turn.state.status in HELD and resume(turn, "handoff.left"):
        return  # it only leaves the queue: on where the merchant was, nothing entered lost
    latest = turn.state.latest_request
    if turn.state.status == "waiting_effect" and getattr(turn.step, "call", "") == "submit":
        turn.say("system.cancelled_filing")  # too late to stop: the filing is on its way
    elif latest is not None and latest.state not in FINAL_STATES:
        turn.say("system.cancelled_filed", ticket=latest.ticket)
    else:
        turn.say("system.cancelled")
    turn.go_home()


def restart(turn: Turn, arg: str) -> None:
    turn.say("system.restarted")
    turn.start_flow(turn.state.flow, dict(turn.state.entry))


def back(turn: Turn, arg: str) -> None:
    if turn.step.on_back(turn):
        return
    history = turn.state.history
    while history:
        previous = history.pop()
        if previous in turn.flow.steps and turn.flow.steps[previous].interactive:
            turn.state.return_to = None
            turn.goto(previous, remember=False)
            return
    turn.say("system.back_unavailable")
    reprompt(turn)


def help_(turn: Turn, arg: str) -> None:
    turn.step.on_help(turn)


def status(turn: Turn, arg: str) -> None:
    latest = turn.state.latest_request
    filing = turn.state.status == "waiting_effect" and getattr(turn.step, "call", "") == "submit"
    if filing or (latest is not None and latest.state == FILING):
        turn.say("status.filing")  # asked of the provider, its answer not in yet
    elif latest is None:
        turn.say("status.none")
    else:
        turn.say(
            f"status.{latest.state}",
            ticket=latest.ticket,
            reason=latest.reason or "",
            kind=latest.kind,
        )
    reprompt(turn)


def agent(turn: Turn, arg: str) -> None:
    turn.handoff("requested", "handoff.requested")


def lang(turn: Turn, arg: str) -> None:
    catalog = turn.engine.catalog
    chosen = resolve_locale(arg, catalog.locales, "") if arg else ""
    if not chosen:
        turn.say("system.lang_usage")
        return
    turn.state.locale = chosen
    turn.say("system.lang_changed")
    reprompt(turn)


INTENTS: dict[str, Callable[[Turn, str], None]] = {
    "start": start,
    "cancel": cancel,
    "restart": restart,
    "back": back,
    "help": help_,
    "status": status,
    "agent": agent,
    "lang": lang,
}
