"""Files kept for a while behind a signed, expiring link on posbot's HTTP app.

A file is kept in ``exports_dir/links/`` under the SHA-256 of its bytes (any process that
shares the folder serves it; nothing lives only in memory). Its link names the file id, the
name it downloads as and when it expires, signed with posbot's secret key (HMAC-SHA256):

    {public_url}/exports/{sha256}/{name}?expires={unix seconds}&sig={hmac}

The signature is checked before the expiry (an expired answer tells nobody without the key
anything) and before the disk is touched; the file id must be 64 hex digits, so no link can
name a path of its own. Files are removed once no link to them can still be valid."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlencode

from bot.providers.base import ExportedFile
from bot.secret_key import sign

PURPOSE = "export-link"
FILE_ID = re.compile(r"[0-9a-f]{64}")
Verdict = Literal["ok", "forged", "expired", "gone"]


@dataclass(frozen=True)
class Link:
    name: str
    url: str
    size: int
    expires: int  # unix seconds


class ExportLinks:
    def __init__(
        self,
        key: bytes,
        folder: Path,
        public_url: str,
        ttl_seconds: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.folder = folder
        self.public_url = public_url.rstrip("/")
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def keep(self, file: ExportedFile) -> Link:
        """``file`` on disk, and a link to it valid for ``ttl_seconds``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.purge()
        file_id = hashlib.sha256(file.data).hexdigest()
        path = self.folder / file_id
        temporary = path.with_name(f".{file_id}.{secrets.token_hex(8)}.tmp")  # one per writer
        temporary.write_bytes(file.data)
        os.replace(temporary, path)  # the same export kept again: the same file, fresh mtime
        name = file.name.replace("/", "_").replace("\\", "_") or "export"  # one path segment
        expires = int(self.clock()) + self.ttl_seconds
        query = urlencode({"expires": expires, "sig": self._mac(file_id, name, expires)})
        url = f"{self.public_url}/exports/{file_id}/{quote(name, safe='')}?{query}"
        return Link(name, url, len(file.data), expires)

    def check(self, file_id: str, name: str, expires: str, sig: str) -> tuple[Verdict, Path]:
        """What a request for this link gets: ``ok`` and the file's path, ``forged`` (a wrong
        signature, a file id that is not one), ``expired`` or ``gone`` (removed meanwhile)."""
        nowhere = self.folder / "-"
        if not FILE_ID.fullmatch(file_id) or not expires.isdigit() or len(expires) > 12:
            return "forged", nowhere
        if not _same(self._mac(file_id, name, int(expires)), sig):
            return "forged", nowhere
        if self.clock() > int(expires):
            return "expired", nowhere
        path = self.folder / file_id
        return ("ok", path) if path.is_file() else ("gone", nowhere)

    def purge(self) -> int:
        """Remove the files no valid link can name any more; how many were removed."""
        if not self.folder.is_dir():
            return 0
        oldest = self.clock() - self.ttl_seconds - 60  # a minute's grace for clocks apart
        removed = 0
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime < oldest:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another process removed it first
                continue
        return removed

    def _mac(self, file_id: str, name: str, expires: int) -> str:
        return sign(self.key, PURPOSE, f"{file_id}\x1f{name}\x1f{expires}").rpartition(".")[2]


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
