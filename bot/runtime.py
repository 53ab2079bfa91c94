"""The runtime: what turns the pure engine into a running bot.

It hands inbound events to the service, runs the effects the outbox holds and feeds their
outcomes back, polls the provider for status changes of open requests, and hands pending
replies to whoever delivers them (a channel)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.effects import EffectRunner
from bot.engine.events import InboundEvent
from bot.providers.base import FINAL_STATES, Provider
from bot.service import ConversationService, Handled
from bot.store.repository import OutboxItem, Store

log = logging.getLogger("posbot.runtime")


class Runtime:
    def __init__(
        self, service: ConversationService, runner: EffectRunner, provider: Provider, store: Store
    ) -> None:
        self.service = service
        self.runner = runner
        self.provider = provider
        self.store = store
        self._running: set[int] = set()

    async def receive(self, event: InboundEvent) -> Handled:
        """Handle one inbound event, then every effect it (transitively) asked for."""
        handled = self.service.handle(event)
        if not handled.duplicate:
            await self.run_effects()
        return handled

    async def run_effects(self) -> int:
        """Run pending effects until none is left; returns how many ran."""
        ran = 0
        while True:
            items = [i for i in self.store.pending("effect") if i.id not in self._running]
            if not items:
                return ran
            for item in items:
                self._running.add(item.id)
                try:
                    self.service.handle(await self.runner.run(item))
                    ran += 1
                finally:
                    self._running.discard(item.id)

    async def poll_statuses(self) -> int:
        """Ask the provider about every open request; push each change into its chat."""
        changed = 0
        for request in self.store.open_requests(sorted(FINAL_STATES)):
            try:
                status = await self.provider.status(request.ticket)
            except Exception:  # one provider hiccup must not stop the others' updates
                log.warning("status of %s unavailable", request.ticket, exc_info=True)
                continue
            if (status.state, status.reason) == (request.status, request.reason):
                continue
            event = InboundEvent(
                request.channel,
                request.user_id,
                f"status:{status.ticket}:{status.state}:{status.reason or ''}"[:128],
                kind="status",
                payload={
                    "ticket": status.ticket,
                    "state": status.state,
                    "reason": status.reason,
                    "kind": request.kind,
                },
            )
            if not self.service.handle(event).duplicate:
                changed += 1
        return changed

    def outgoing(
        self, channel: str, user_id: str | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        return self.store.pending("message", channel=channel, user_id=user_id, limit=limit)

    def delivered(self, items: Sequence[OutboxItem]) -> None:
        self.store.mark_done([item.id for item in items])
