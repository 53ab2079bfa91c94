"""Load flows/*.yaml: YAML with line numbers → typed, frozen step models → a FlowSet.

Every problem names its file and line (and flow and step when known); all problems of all
files are collected and raised together as FlowErrors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.engine.flow import Flow, FlowSet
from bot.engine.steps import STEP_KINDS, Step
from bot.errors import FlowError, FlowErrors

SHORTHAND = {"say": "message", "end": "message", "handoff": "message"}


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


# libyaml's parser when PyYAML has it (its wheels do): ten times the pure-Python one
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc]
    """SafeLoader with YAML 1.2 booleans: only true/false are booleans, so keys such as
    ``yes:``, ``no:`` and ``on:`` stay the words an operator wrote."""


_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[str(key)] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class FlowHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    home: bool = False
    retries: int = Field(default=3, ge=1, le=10)
    commands: dict[str, dict[str, str]] = Field(default_factory=dict)
    steps: list[Any] = Field(min_length=1)


def line_of(data: Any, loc: Iterable[int | str], default: int) -> int:
    """The line of the deepest part of ``data`` that ``loc`` (a pydantic error path) reaches."""
    line = default
    for part in loc:
        if isinstance(data, LineDict) and isinstance(part, str) and part in data:
            line = data.key_lines.get(part, line)
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
            line = getattr(data, "line", line)
        else:
            break
    return line


def _step_spec(raw: LineDict, kind: str) -> dict[str, Any]:
    spec = raw[kind]
    if isinstance(spec, str) and kind in SHORTHAND:
        spec = {SHORTHAND[kind]: spec}
    elif kind == "branch" and isinstance(spec, list):
        cases = [c for c in spec if not (isinstance(c, dict) and "otherwise" in c)]
        rest = [c["otherwise"] for c in spec if isinstance(c, dict) and "otherwise" in c]
        spec = {"cases": cases, **({"otherwise": rest[0]} if rest else {})}
    if not isinstance(spec, dict):
        raise TypeError(f"'{kind}' must be a mapping")
    common = {k: raw[k] for k in ("id", "next", "help") if k in raw}
    return {**spec, **common}


def _build_step(raw: Any, file: str, flow: str, errors: list[FlowError]) -> Step | None:
    line = getattr(raw, "line", None)
    if not isinstance(raw, LineDict) or "id" not in raw:
        errors.append(
            FlowError("a step must be a mapping with an 'id'", file=file, line=line, flow=flow)
        )
        return None
    step_id = str(raw["id"])
    kinds = [k for k in raw if k in STEP_KINDS]
    extra = [k for k in raw if k not in STEP_KINDS and k not in ("id", "next", "help")]
    if len(kinds) != 1 or extra:
        found = ", ".join(kinds + extra) or "nothing"
        errors.append(
            FlowError(
                f"a step needs exactly one of {', '.join(STEP_KINDS)}; found {found}",
                file=file,
                line=line,
                flow=flow,
                step=step_id,
            )
        )
        return None
    kind = kinds[0]
    try:
        return STEP_KINDS[kind].model_validate(_step_spec(raw, kind))
    except TypeError as exc:
        errors.append(
            FlowError(
                str(exc), file=file, line=raw.key_lines.get(kind, line), flow=flow, step=step_id
            )
        )
    except ValidationError as exc:
        spec = raw[kind] if isinstance(raw[kind], LineDict) else raw
        for err in exc.errors():
            where = line_of(spec, err["loc"], raw.key_lines.get(kind, line or 0))
            field = ".".join(str(p) for p in err["loc"])
            errors.append(
                FlowError(f"{field}: {err['msg']}", file=file, line=where, flow=flow, step=step_id)
            )
    return None


def parse_flow(source: str, file: str) -> Flow:
    """One flow file → a Flow, or FlowErrors naming every problem with its line."""
    errors: list[FlowError] = []
    try:
        raw = yaml.load(source, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise FlowErrors(
            [
                FlowError(
                    f"not valid YAML: {getattr(exc, 'problem', exc)}",
                    file=file,
                    line=mark.line + 1 if mark else None,
                )
            ]
        ) from exc
    if not isinstance(raw, LineDict):
        raise FlowErrors([FlowError("a flow file must be a mapping", file=file, line=1)])
    try:
        header = FlowHeader.model_validate(raw)
    except ValidationError as exc:
        raise FlowErrors(
            [
                FlowError(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}",
                    file=file,
                    line=line_of(raw, e["loc"], raw.line),
                    flow=raw.get("flow"),
                )
                for e in exc.errors()
            ]
        ) from exc
    steps: dict[str, Step] = {}
    for raw_step in header.steps:
        step = _build_step(raw_step, file, header.flow, errors)
        if step is None:
            continue
        if step.id in steps:
            errors.append(
                FlowError(
                    f"step id '{step.id}' is used twice",
                    file=file,
                    line=raw_step.line,
                    flow=header.flow,
                    step=step.id,
                )
            )
        steps[step.id] = step
    if errors:
        raise FlowErrors(errors)
    version = hashlib.sha256(source.encode()).hexdigest()[:12]
    return Flow(
        header.flow, version, file, source, steps, header.retries, header.home, header.commands
    )


def step_lines(source: str) -> dict[str, int]:
    """Step id → line, for semantic checks that find a problem after parsing."""
    raw = yaml.load(source, Loader=_LineLoader)
    steps = raw.get("steps", []) if isinstance(raw, dict) else []
    return {str(s["id"]): s.line for s in steps if isinstance(s, LineDict) and "id" in s}


def load_flows(directory: Path) -> FlowSet:
    """Every *.yaml in ``directory``; raises FlowErrors with every problem of every file."""
    flows: list[Flow] = []
    errors: list[FlowError] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FlowErrors([FlowError("no flow files (*.yaml) here", file=str(directory))])
    for path in files:
        try:
            flows.append(parse_flow(path.read_text(encoding="utf-8"), str(path)))
        except FlowErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise FlowErrors(errors)
    return FlowSet(flows)
