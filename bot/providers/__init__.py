"""Provider adapters: the protocol in base.py, one implementation per module."""
