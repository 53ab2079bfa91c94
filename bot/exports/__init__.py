"""Exports larger than a channel allows: split into parts (``parts``) or kept on disk behind a
signed, expiring link (``links``, served by ``route``); ``fit`` decides which, per channel."""
