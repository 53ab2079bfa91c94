"""Conditions in flows: sandboxed Jinja2 expressions over the conversation's slots."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)


@lru_cache(maxsize=512)
def compile_condition(source: str) -> Callable[..., Any]:
    """Compile once; raises jinja2.TemplateSyntaxError on a malformed expression."""
    return _env.compile_expression(source, undefined_to_none=False)


def evaluate(source: str, context: Mapping[str, Any]) -> bool:
    return bool(compile_condition(source)(**context))
