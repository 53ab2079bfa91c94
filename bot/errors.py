"""One error tree for posbot.

PosbotError
├── ConfigError                 a setting posbot cannot start with (setting, hint)
│   └── ConfigErrors            several of them, reported together
├── FlowError                   a flow file that cannot load (file, line, flow, step)
│   └── FlowErrors              several of them, reported together
├── ProviderFileError           a provider file that cannot load (file, line)
│   └── ProviderFileErrors      several of them, reported together
├── LocaleError                 a message missing from a catalog (locale, key)
├── NoConversation              nobody to write to: that user never wrote (channel, user_id)
├── ProviderError               anything a provider adapter raises, converted at the edge
│   ├── ProviderUnavailable     transient: network, 5xx, timeouts (retry_after)
│   ├── ProviderRejected        the provider refused the call (code, reason)
│   └── ProviderCannotCheck     it has no online way to answer (no terminal list, no SMS): a
│                               person checks instead
├── PlatformError               a chat platform's API failed a call (platform, code)
│   ├── PlatformUnavailable     transient: network, 5xx, "system busy" — retried with backoff
│   │   └── RetryAfter          flood control: nothing to that chat for ``retry_after`` seconds
│   └── PlatformRefused         the platform said no (code): WeChat 45015 outside the window,
│       │                       45047 over the quota, 43004 not following — never retried
│       ├── Forbidden           the user blocked the bot (Telegram's 403): the chat is unreachable
│       └── BadRequest          the call itself is wrong (Telegram's 400, its ``message``)
└── StoreError                  the store could not do what was asked
"""

from __future__ import annotations

from collections.abc import Sequence


class PosbotError(Exception):
    """Base of every error posbot raises on purpose."""


class ConfigError(PosbotError):
    """A setting posbot cannot start with: a database it cannot reach, a folder with nothing
    in it, a value out of range. ``setting`` names the environment variable an operator
    changes, ``hint`` says how; ``str()`` is the one line the CLI prints."""

    def __init__(self, message: str, *, setting: str | None = None, hint: str = "") -> None:
        self.message = message
        self.setting = setting
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.setting}: " if self.setting else ""
        return f"{where}{self.message}" + (f"; {self.hint}" if self.hint else "")


class ConfigErrors(ConfigError):
    """Several settings that are wrong at once, so an operator fixes them in one go."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class FlowError(PosbotError):
    """A flow definition that cannot load; names the file, line, flow and step."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "?",
        line: int | None = None,
        flow: str | None = None,
        step: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.flow = flow
        self.step = step
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        ctx = ", ".join(
            part
            for part in (
                f"flow {self.flow}" if self.flow else "",
                f"step {self.step}" if self.step else "",
            )
            if part
        )
        return f"{where}: {ctx + ': ' if ctx else ''}{self.message}"


class FlowErrors(PosbotError):
    """Every problem found in a set of flow files, so an operator fixes them in one go."""

    def __init__(self, errors: Sequence[FlowError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class ProviderFileError(PosbotError):
    """A provider file (providers/<name>.yaml) that cannot load; names the file and line."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class ProviderFileErrors(ProviderFileError):
    """Every problem found in a provider file, so an operator fixes them in one go."""

    def __init__(self, errors: Sequence[ProviderFileError]) -> None:
        self.errors = list(errors)
        self.message = "\n".join(str(e) for e in self.errors)
        self.file = self.errors[0].file if self.errors else "?"
        self.line = None
        PosbotError.__init__(self, self.message)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class LocaleError(PosbotError):
    """A message key missing from a locale catalog."""

    def __init__(self, locale: str, key: str) -> None:
        self.locale = locale
        self.key = key
        super().__init__(f"message {key!r} is missing from locale {locale!r}")


class NoConversation(PosbotError):
    """An operator's message to someone who never wrote on that channel: a bot may only write
    to whoever wrote to it first."""

    def __init__(self, channel: str, user_id: str) -> None:
        self.channel = channel
        self.user_id = user_id
        super().__init__(
            f"no conversation with {channel} user {user_id!r}: posbot writes only to someone "
            "who wrote to it first"
        )


class ProviderError(PosbotError):
    """Anything a provider adapter raises, converted at the edge."""


class ProviderUnavailable(ProviderError):
    """A transient failure: worth retrying after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ProviderRejected(ProviderError):
    """The provider refused the call; ``code`` is its own reason code."""

    def __init__(self, message: str, *, code: str = "rejected") -> None:
        self.code = code
        super().__init__(message)


class ProviderCannotCheck(ProviderError):
    """The provider has no online way to answer this (a desk without a terminal directory,
    without balances, without an SMS gateway): not a failure to retry — a person checks
    instead. ``what`` names what could not be checked (terminal, balance, phone)."""

    def __init__(self, message: str, *, what: str) -> None:
        self.what = what
        super().__init__(message)


class PlatformError(PosbotError):
    """A chat platform's API failed a call, converted at the channel's edge. ``code`` is the
    platform's own (WeChat's errcode; None for network and HTTP failures)."""

    def __init__(self, platform: str, message: str, *, code: int | None = None) -> None:
        self.platform = platform
        self.message = message
        self.code = code
        super().__init__(f"{platform}: {message}" + ("" if code is None else f" ({code})"))


class PlatformUnavailable(PlatformError):
    """Network, HTTP 5xx or the platform's "busy, try again": worth another try later."""


class PlatformRefused(PlatformError):
    """The platform refused the call for a reason a retry does not change."""


class RetryAfter(PlatformUnavailable):
    """Flood control (Telegram's 429): the chat takes nothing more for ``retry_after``
    seconds; then the call may go again."""

    def __init__(self, platform: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(platform, f"too many requests: retry after {retry_after:g} s", code=429)


class Forbidden(PlatformRefused):
    """The user cannot be written to (Telegram's 403: they blocked the bot)."""


class BadRequest(PlatformRefused):
    """The call itself is wrong or moot (Telegram's 400: "message is not modified", a query
    too old); ``message`` is the platform's description."""


class StoreError(PosbotError):
    """The store could not do what was asked."""
