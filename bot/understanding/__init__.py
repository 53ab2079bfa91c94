"""Understanding free text: intents from examples (per locale, as data), numbers into slots.

``Understanding.load(locales_dir)`` reads ``<locale>/intents.yaml`` beside each catalog and builds
one matcher per locale, once, at start; ``read`` folds a message and says what it means — or
``None`` below the confidence threshold (out of scope: the bot says it did not understand)."""

from bot.understanding.model import (
    ANSWERS,
    DESTRUCTIVE,
    Meaning,
    Understanding,
    load_examples,
)
from bot.understanding.slots import find_slots

__all__ = ["ANSWERS", "DESTRUCTIVE", "Meaning", "Understanding", "find_slots", "load_examples"]
