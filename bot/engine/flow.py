"""A loaded flow and the set of flows an engine runs, every version it has ever seen."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from bot.engine.steps import Step


@dataclass(frozen=True)
class Flow:
    id: str
    version: str  # a hash of the source: a conversation keeps the version it started with
    file: str
    source: str
    steps: Mapping[str, Step]  # in file order; the first is the start
    retries: int = 3
    home: bool = False
    commands: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def start(self) -> str:
        return next(iter(self.steps))

    def next_after(self, step_id: str) -> str | None:
        ids = list(self.steps)
        at = ids.index(step_id) + 1
        return ids[at] if at < len(ids) else None


class FlowSet:
    """The current version of every flow, plus older versions conversations still use."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        self.current: dict[str, Flow] = {}
        self._versions: dict[tuple[str, str], Flow] = {}
        self.commands: dict[str, tuple[str, dict[str, str]]] = {}
        for flow in flows:
            self.current[flow.id] = flow
            self.add_version(flow)
            for command, slots in flow.commands.items():
                self.commands[command] = (flow.id, dict(slots))
        homes = [f.id for f in self.current.values() if f.home]
        self.home = homes[0] if homes else next(iter(self.current), "")

    def add_version(self, flow: Flow) -> None:
        self._versions[(flow.id, flow.version)] = flow

    def get(self, flow_id: str, version: str) -> Flow | None:
        return self._versions.get((flow_id, version))

    def __iter__(self) -> Iterator[Flow]:
        return iter(self.current.values())
