"""Exports made to fit the channel they go to — the one place that decides, for every channel.

Each channel declares the largest attachment it can deliver (``Channel.max_attachment_bytes``;
None: no limit, 0: it cannot deliver files at all). A file within it goes as it is; a CSV over
it is split into a few parts (``parts``); anything else over it is kept behind a signed,
expiring link (``links``), which the merchant is given instead."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.exports.links import ExportLinks, Link
from bot.exports.parts import is_csv, split_csv
from bot.providers.base import ExportedFile

log = logging.getLogger("posbot.exports")


@dataclass
class Fitted:
    files: list[ExportedFile] = field(default_factory=list)  # sent as attachments
    links: list[Link] = field(default_factory=list)  # too big: downloaded from posbot


class AttachmentFit:
    def __init__(
        self, links: ExportLinks | None, limits: Mapping[str, int | None] | None = None
    ) -> None:
        self.links = links
        self.limits: dict[str, int | None] = dict(limits or {})

    @property
    def link_seconds(self) -> int:
        return 0 if self.links is None else self.links.ttl_seconds

    def declare(self, channel: str, max_bytes: int | None) -> None:
        """``channel`` delivers attachments of at most ``max_bytes`` (its own declaration)."""
        self.limits[channel] = max_bytes

    def fit(self, channel: str, files: Sequence[ExportedFile]) -> Fitted:
        limit = self.limits.get(channel)
        fitted = Fitted()
        for file in files:
            if limit is None or len(file.data) <= limit:
                fitted.files.append(file)
                continue
            parts = split_csv(file, limit) if is_csv(file) and limit > 0 else []
            if parts:
                fitted.files += parts
            elif self.links is not None:
                fitted.links.append(self.links.keep(file))
            else:  # nowhere to keep it: the channel is left to refuse it, as before
                log.warning("%s: %d bytes over %s's limit, no links", file.name, limit, channel)
                fitted.files.append(file)
        return fitted
