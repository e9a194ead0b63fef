"""One exception tree, organised by what the caller should do.

- ``ConfigError``: stop; the configuration is wrong and a restart will not help.
- ``DataError``: skip this input (a symbol, a request, a CSV row); others go on.
- ``TemporaryError``: retry later with backoff; the cause is expected to pass.
"""

from __future__ import annotations


class WagehoodError(Exception):
    """Base of every error Wagehood raises on purpose."""

    kind = "error"


class ConfigError(WagehoodError):
    """A setting or configuration value is invalid; the process should stop."""

    kind = "config_error"


class DataError(WagehoodError):
    """Input data is invalid; skip it and carry on with the rest."""

    kind = "invalid_data"


class ValidationError(DataError):
    """A request or command argument is invalid; ``field`` names it when known."""

    kind = "validation_error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(DataError):
    """The named thing (symbol, export, key) does not exist."""

    kind = "not_found"


class ConflictError(DataError):
    """The request conflicts with the current state (e.g. already exists)."""

    kind = "conflict"


class AuthError(WagehoodError):
    """Credentials are missing, wrong, revoked or expired."""

    kind = "unauthorized"


class PermissionDeniedError(AuthError):
    """Credentials are valid but lack the permission needed."""

    kind = "forbidden"


class TemporaryError(WagehoodError):
    """A transient failure (network, rate limit, store down); retry with backoff."""

    kind = "temporarily_unavailable"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderError(DataError):
    """A data provider answered with something permanently unusable for a symbol."""

    kind = "provider_error"


class ProviderUnavailableError(TemporaryError):
    """A data provider could not be reached or asked us to slow down."""

    kind = "provider_unavailable"


class RateLimitedError(ProviderUnavailableError):
    """A data provider answered 429: slow down for ``retry_after`` seconds."""

    kind = "provider_rate_limited"


class BudgetExceededError(ProviderUnavailableError):
    """Our own request budget for a provider is used up; retry after ``retry_after`` seconds."""

    kind = "provider_budget_exceeded"
