"""What every channel of ``posbot run`` is: a platform posbot talks on.

A channel turns its platform's updates into ``InboundEvent``s for ``Runtime.receive`` and
delivers the replies the outbox holds for it. ``posbot run`` starts every channel whose
settings are present, mounts their routes on its one ASGI app, and stops them on SIGTERM."""

from __future__ import annotations

import abc

from fastapi import FastAPI


class Channel(abc.ABC):
    name: str = "channel"
    # the largest file this channel delivers as an attachment, in bytes (None: no limit, 0: it
    # delivers none); bigger exports are split or linked for it (``bot.exports.fit``)
    max_attachment_bytes: int | None = None

    def mount(self, http: FastAPI) -> None:  # noqa: B027 (most channels have no routes)
        """Add this channel's routes (a webhook) to the one HTTP app; most need none."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin receiving and delivering (background tasks); return once started."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop receiving; what was received is committed or left to be delivered again."""

    @abc.abstractmethod
    def describe(self) -> str:
        """One line: what this channel serves (printed at start)."""
