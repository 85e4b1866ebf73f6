"""Checks of user input shared by the services; each raises `ValidationFailed` naming the
service's argument it checks (`field`)."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pycountry
from email_validator import EmailNotValidError, validate_email

from app.errors import ValidationFailed

_KNOWN_TIME_ZONES = frozenset(available_timezones())


def time_zone(value: str, field: str) -> str:
    """An IANA zone name, e.g. "America/New_York"."""
    if value not in _KNOWN_TIME_ZONES:
        raise ValidationFailed(f"Unknown time zone {value!r}; use an IANA name such as "
                               "'America/New_York'.", field=field)
    return value


def zone(value: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone(value, field))
    except ZoneInfoNotFoundError as error:  # listed but without data: treat as unknown
        raise ValidationFailed(f"Unknown time zone {value!r}.", field=field) from error


def email(value: str, field: str) -> str:
    """A syntactically valid address, normalised (the domain lower-cased)."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValidationFailed(f"Invalid email address: {error}", field=field) from error


def required_text(value: str, field: str, *, max_length: int = 200) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValidationFailed("This field is required and cannot be blank.", field=field)
    if len(stripped) > max_length:
        raise ValidationFailed(f"At most {max_length} characters.", field=field)
    return stripped


def optional_text(value: str | None, field: str, *, max_length: int = 2000) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    if len(stripped) > max_length:
        raise ValidationFailed(f"At most {max_length} characters.", field=field)
    return stripped or None


def int_between(value: int, low: int, high: int, field: str) -> int:
    if not low <= value <= high:
        raise ValidationFailed(f"Must be between {low} and {high}.", field=field)
    return value


# The current ISO-4217 list as pycountry ships it, less XTS ("for testing") and
# XXX ("no currency"): neither is money anyone can pay in.
_CURRENCY_CODES = frozenset(currency.alpha_3 for currency in pycountry.currencies) - {"XTS", "XXX"}


def currency_code(value: str, field: str) -> str:
    """A current ISO-4217 alphabetic code such as "USD"."""
    code = value.strip().upper()
    if code not in _CURRENCY_CODES:
        raise ValidationFailed(f"{value!r} is not an ISO-4217 currency code; use e.g. 'USD'.",
                               field=field)
    return code
