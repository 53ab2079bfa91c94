"""A fake Telegram Bot API server on loopback, for tests that run the real client libraries."""
