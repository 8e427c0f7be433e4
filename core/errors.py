"""The error kinds every job failure is classified into.

Channel clients and mappers raise these; the job engine reads ``kind`` to decide what happens:
transient -> retried with backoff, validation -> failed with an editable payload,
business -> failed for manual review, auth -> the backend is suspended until fixed.
"""

TRANSIENT = "transient"
VALIDATION = "validation"
BUSINESS = "business"
AUTH = "auth"

ERROR_KINDS = [
    (TRANSIENT, "Transient"),
    (VALIDATION, "Validation"),
    (BUSINESS, "Business"),
    (AUTH, "Authentication"),
]


class CommerceError(Exception):
    """Base class: ``message`` is shown to users; ``detail`` is extra context (never secrets)."""

    kind = BUSINESS

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail


class TransientError(CommerceError):
    """Worth retrying later: timeouts, 429, 5xx, lock conflicts.

    ``retry_after`` (seconds) is the earliest sensible retry, e.g. from a Retry-After header.
    """

    kind = TRANSIENT

    def __init__(self, message, detail=None, retry_after=None):
        super().__init__(message, detail)
        self.retry_after = retry_after


class PayloadValidationError(CommerceError):
    """The input is not what the contract says (missing fields, wrong types, bad JSON)."""

    kind = VALIDATION


class BusinessError(CommerceError):
    """Valid input the business rules refuse (unknown SKU, total mismatch): a human decides."""

    kind = BUSINESS


class AuthError(CommerceError):
    """Credentials rejected by the remote system."""

    kind = AUTH
