"""The runtime: what turns the pure engine into a running bot.

It hands inbound events to the service, runs the effects each event committed and feeds their
outcomes back, polls the provider for status changes of open requests, and hands pending
replies to whoever delivers them (a channel)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.effects import EffectRunner
from bot.engine.events import InboundEvent
from bot.providers.base import FINAL_STATES, Provider
from bot.service import ConversationService, Handled
from bot.store.repository import Store
from bot.store.transaction import OutboxItem

log = logging.getLogger("posbot.runtime")


class Runtime:
    def __init__(
        self,
        service: ConversationService,
        runner: EffectRunner,
        provider: Provider,
        store: Store,
        *,
        batch: int = 32,
    ) -> None:
        self.service = service
        self.runner = runner
        self.provider = provider
        self.store = store
        self.batch = batch  # events committed together at most; bounds the wait for a commit
        self._queue: list[tuple[InboundEvent, asyncio.Future[Handled]]] = []

    async def receive(self, event: InboundEvent) -> list[OutboxItem]:
        """Handle one inbound event and every effect it (transitively) asked for. Returns the
        replies they committed, in order, for the channel to deliver (a duplicate: none)."""
        handled = await self.commit(event)
        messages = list(handled.messages)
        for effect in handled.effects:
            messages += await self.receive(await self.runner.run(effect))
        return messages

    async def commit(self, event: InboundEvent) -> Handled:
        """Handle ``event``; resolves once it is committed. Events that arrive together — from
        the merchants chatting at the same moment — share one transaction (group commit)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Handled] = loop.create_future()
        self._queue.append((event, done))
        if len(self._queue) == 1:
            loop.call_soon(self._flush)
        return await done

    def _flush(self) -> None:
        taken, self._queue = self._queue[: self.batch], self._queue[self.batch :]
        if self._queue:
            asyncio.get_running_loop().call_soon(self._flush)
        try:
            results = self.service.handle_batch([event for event, _ in taken])
        except Exception as exc:  # the commit itself failed: nobody's event went through
            results = [exc] * len(taken)
        for (_, done), result in zip(taken, results, strict=True):
            if done.cancelled():
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)

    async def recover(self) -> int:
        """Run effects a previous process committed but did not finish (it crashed)."""
        pending = self.store.pending("effect", limit=10_000)
        for effect in pending:
            await self.receive(await self.runner.run(effect))
        return len(pending)

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
        """Replies not yet delivered (after a restart, or pushed by a status change)."""
        return self.store.pending("message", channel=channel, user_id=user_id, limit=limit)

    def delivered(self, items: Sequence[OutboxItem]) -> None:
        self.store.mark_done([item.id for item in items])
