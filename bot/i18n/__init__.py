"""Every word a user sees comes from locales/ through the catalog here."""

from bot.i18n.catalog import Catalog, resolve_locale

__all__ = ["Catalog", "resolve_locale"]
