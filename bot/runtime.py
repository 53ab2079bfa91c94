"""The runtime: what turns the pure engine into a running bot.

It hands inbound events to the service, runs the effects each event committed and feeds their
outcomes back, polls the provider for status changes of open requests, and hands pending
replies to whoever delivers them (a channel)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.effects import EffectRunner
from bot.engine.events import InboundEvent, scrubbed
from bot.notifier import Notifier
from bot.providers.base import Provider, RequestStatus
from bot.request_states import FINAL_STATES, STAGE
from bot.service import ConversationService, Handled
from bot.store.repository import OpenRequest, Store
from bot.store.transaction import OutboxItem

log = logging.getLogger("posbot.runtime")
MIN_BATCH = 2  # a commit (an fsync) is worth sharing even when each event is slow
BACKLOG_SHARE = 4  # with a backlog, a commit takes at least this share of it
MAX_EVENT_ATTEMPTS = 3  # an inbound event that fails this often is set aside for an operator
RANK = STAGE  # how far on its review each state is: a status never moves a request back


@dataclass
class Delivery:
    """What one inbound event led to: the replies committed for it (its effects' included), and
    the seconds posbot was busy with it — handling, committing, calling the provider — without
    the time it waited behind other merchants' events."""

    messages: list[OutboxItem] = field(default_factory=list)
    seconds: float = 0.0
    refused: str | None = None  # an agent's action that could not be applied, and why

    def add(self, other: Delivery) -> None:
        self.messages += other.messages
        self.seconds += other.seconds


class Runtime:
    def __init__(
        self,
        service: ConversationService,
        runner: EffectRunner,
        provider: Provider,
        store: Store,
        *,
        batch: int = 32,
        batch_ms: float = 1.5,
        notifier: Notifier | None = None,
    ) -> None:
        self.notifier = notifier or Notifier()  # tells senders there is something to send
        self.service = service
        self.runner = runner
        self.provider = provider
        self.store = store
        self.batch = batch  # events committed together at most
        self.batch_ms = batch_ms  # ... and no more events than this many ms of work handle
        self._ms_per_event = 0.5  # handling one event, commit aside: learnt as it runs
        self.commits = 0  # group commits so far, and the events they carried
        self.committed_events = 0
        self._queue: list[tuple[InboundEvent, asyncio.Future[tuple[Handled, float]]]] = []
        self._committing: asyncio.Task[None] | None = None  # commits what the queue holds

    async def receive(
        self,
        event: InboundEvent,
        *,
        committed: asyncio.Future[bool] | None = None,
        on_commit: Callable[[list[OutboxItem]], None] | None = None,
    ) -> Delivery:
        """Handle one inbound event and every effect it (transitively) asked for. Returns the
        replies they committed, in order (a duplicate: none). A channel that answers in the
        same breath (a webhook's reply) delivers these and marks them ``delivered``; one that
        sends on its own schedule reads ``outgoing`` instead — never both.

        An event that cannot be handled is tried again; after ``MAX_EVENT_ATTEMPTS`` failed
        attempts (counted in the store, across redeliveries and restarts) it is set aside for
        an operator and the merchant is told so — one bad message never fails forever.

        ``committed`` is resolved (True) as soon as the event is committed, before its effects
        run: a channel may confirm the update to its platform then. ``on_commit`` is called
        then with the event's own replies (leased to this process when the event says
        ``lease_replies``), before its effects run."""
        event = scrubbed(event)  # text no platform should send (lone surrogates): cleaned
        while True:
            try:
                handled, seconds = await self.commit(event)
                break
            except Exception as exc:
                attempts = self.store.count_failure(
                    event.channel,
                    event.dedup_key,
                    event.user_id,
                    type(exc).__name__,
                    self.service.storable(event.text),
                )
                if attempts < MAX_EVENT_ATTEMPTS:
                    continue
                log.error(
                    "event %s/%s set aside after %d attempts: %s",
                    event.channel,
                    event.dedup_key,
                    attempts,
                    type(exc).__name__,
                )
                handled, seconds = self.service.set_aside(event), 0.0
                break
        if committed is not None and not committed.done():
            committed.set_result(True)
        if on_commit is not None:
            on_commit(list(handled.messages))
        delivery = Delivery(list(handled.messages), seconds, handled.refused)
        if handled.messages:
            self.notifier.notify(event.channel)
        for effect in handled.effects:
            if "not_before" not in effect.payload:  # claimed by this process when committed
                delivery.add(await self._run(effect))
        return delivery

    async def _run(self, effect: OutboxItem) -> Delivery:
        began = time.perf_counter()
        result = await self.runner.run(effect)
        spent = time.perf_counter() - began
        delivery = await self.receive(result)
        delivery.seconds += spent
        return delivery

    async def sweep(self) -> int:
        """Run the effects that are due and that nobody runs: scheduled retries, and those a
        crashed process or a cancelled call left behind (their lease ran out). Each is claimed
        in the store first, so two processes never run the same one. Returns how many ran."""
        ran = 0
        while due := self.store.claim_due_effects():
            for effect in due:
                await self._run(effect)
                ran += 1
        return ran

    async def commit(self, event: InboundEvent) -> tuple[Handled, float]:
        """Handle ``event``; resolves once it is committed, with the seconds its commit took.
        Events that arrive together — from merchants chatting at the same moment — share one
        transaction (group commit)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[Handled, float]] = loop.create_future()
        self._queue.append((event, done))
        if self._committing is None:
            self._committing = loop.create_task(self._commit_queued())
        return await done

    async def _commit_queued(self) -> None:
        """Batch after batch while events wait. A batch is handled on the loop and committed
        on a worker thread; the next one starts once that commit is durable (SQLite has one
        writer at a time anyway), with what arrived meanwhile."""
        try:
            while self._queue:
                await self._commit_batch()
        finally:
            self._committing = None
            if self._queue:  # stopped by a cancellation: nobody's event is left waiting
                for _, done in self._queue:
                    done.cancel()
                self._queue.clear()

    async def _commit_batch(self) -> None:
        size = max(MIN_BATCH, min(self.batch, int(self.batch_ms / self._ms_per_event)))
        # a backlog waits anyway: sharing one commit among more of it ends the wait sooner
        size = min(self.batch, max(size, len(self._queue) // BACKLOG_SHARE))
        taken, self._queue = self._queue[:size], self._queue[size:]
        began = time.perf_counter()
        try:
            results = await self.service.handle_batch_off_loop([event for event, _ in taken])
        except Exception as exc:  # the commit itself failed: nobody's event went through
            results = [exc] * len(taken)
        except asyncio.CancelledError:
            for _, done in taken:
                done.cancel()
            raise
        seconds = time.perf_counter() - began
        self.commits += 1
        self.committed_events += len(taken)
        work = (seconds - self.service.commit_seconds) * 1000 / len(taken)
        self._ms_per_event += 0.1 * (work - self._ms_per_event)
        for (_, done), result in zip(taken, results, strict=True):
            if done.cancelled():
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result((result, seconds))

    async def poll_statuses(self) -> int:
        """Ask the provider about every open request; push each change into its chat."""
        changed = 0
        for request in self.store.open_requests(sorted(FINAL_STATES)):
            if request.ticket is None:  # still being filed: the effect runner finishes it
                continue
            try:
                status = await self.provider.status(request.ticket)
            except Exception:  # one provider hiccup must not stop the others' updates
                log.warning("status of %s unavailable", request.ticket, exc_info=True)
                continue
            changed += self.push_status(request, status)
        return changed

    def status_reported(self, status: RequestStatus) -> bool:
        """A status the provider pushed (a webhook): pushed into its chat when it moves the
        request on. False: no such open request, the same status again, or an older one."""
        found = self.store.open_requests(sorted(FINAL_STATES), ticket=status.ticket)
        return bool(found) and self.push_status(found[0], status)

    def push_status(self, request: OpenRequest, status: RequestStatus) -> bool:
        """Through the engine into the merchant's chat, when ``status`` moves ``request`` on:
        the same status seen again, or one that comes after a later one (a webhook out of
        order), changes nothing and tells nobody."""
        if (status.state, status.reason) == (request.status, request.reason):
            return False
        if RANK.get(status.state, 0) < RANK.get(request.status, -1):
            log.info(
                "status %s of %s is older than %s", status.state, status.ticket, request.status
            )
            return False
        event = InboundEvent(
            request.channel,
            request.user_id,
            f"status:{status.ticket}:{request.changes}:{status.state}",
            kind="status",
            payload={
                "ticket": status.ticket,
                "state": status.state,
                "reason": status.reason,
                "kind": request.kind,
            },
        )
        try:
            if self.service.handle(event).duplicate:
                return False
        except Exception:  # one conversation's trouble must not stop the others' news
            log.exception("status %s of %s not delivered", status.state, status.ticket)
            return False
        self.notifier.notify(request.channel)
        return True

    def open_requests(self, channel: str, user_id: str) -> list[OpenRequest]:
        return self.store.open_requests(sorted(FINAL_STATES), channel=channel, user_id=user_id)

    def last_reply(self, channel: str, user_id: str) -> OutboxItem | None:
        return self.store.last_message(channel, user_id)

    def outgoing(
        self, channel: str, user_id: str | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        """Replies not yet delivered (after a restart, or pushed by a status change)."""
        return self.store.pending("message", channel=channel, user_id=user_id, limit=limit)

    def delivered(self, items: Sequence[OutboxItem]) -> None:
        self.store.mark_done([item.id for item in items])
