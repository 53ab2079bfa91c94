"""Step kinds, one per module; a step is chosen by its YAML key (``ask:``, ``choice:``, ...)."""

from bot.engine.steps.action import Action
from bot.engine.steps.ask import Ask
from bot.engine.steps.base import Step
from bot.engine.steps.branch import Branch
from bot.engine.steps.checklist import Checklist
from bot.engine.steps.choice import Choice
from bot.engine.steps.confirm import Confirm
from bot.engine.steps.end import End
from bot.engine.steps.handoff import Handoff
from bot.engine.steps.say import Say

STEP_KINDS: dict[str, type[Step]] = {
    cls.kind: cls for cls in (Ask, Choice, Checklist, Confirm, Say, Action, Branch, Handoff, End)
}

__all__ = [
    "STEP_KINDS",
    "Action",
    "Ask",
    "Branch",
    "Checklist",
    "Choice",
    "Confirm",
    "End",
    "Handoff",
    "Say",
    "Step",
]
