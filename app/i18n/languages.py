"""Language tags, and the `Language` a message is written in.

A person's language is their own tag, else their organization's (`for_recipient`). A tag
is a BCP 47 tag Babel knows whose language we ship a catalogue for: "es-AR" takes the
Spanish words and Argentina's formats (dates, decimal separators, the currency's symbol).
"""

import gettext
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import (
    format_date,
    format_time,
    format_timedelta,
    get_datetime_format,
    get_timezone_name,
)
from babel.numbers import format_currency, get_currency_precision
from babel.support import Translations

from app.errors import ValidationFailed

DEFAULT = "en"
# The source language first: its words are the message ids themselves.
SHIPPED = ("en", "es")
CATALOGUES = Path(__file__).parent / "locales"
DOMAIN = "messages"
# The shape of a tag, as the tables' CHECKs have it (migration 0014): letters, then subtags
# of letters and digits. Longer tags than _MAX_LENGTH are legal BCP 47, but not a language
# anyone chooses in a form.
_TAG_SHAPE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*")
_MAX_LENGTH = 35


def N_(message: str) -> str:
    """Marks a message id for Babel's extraction where it is defined; it is translated
    where it is used, with `Language.gettext` (gettext's own convention)."""
    return message


def checked_tag(value: str, field: str) -> str:
    """`value` as a canonical tag ("ES-ar" -> "es-AR"), or VALIDATION_FAILED on `field`."""
    locale = _parse(value, field)
    if locale.language not in SHIPPED:
        raise ValidationFailed(
            f"Messages are not available in {locale.english_name} ({value!r}); "
            f"supported languages: {', '.join(SHIPPED)}.", field=field)
    return _tag(locale)


def _parse(value: str, field: str) -> Locale:
    hint = 'use a BCP 47 tag such as "es" or "es-AR"'
    if len(value) > _MAX_LENGTH or not _TAG_SHAPE.fullmatch(value):
        raise ValidationFailed(f"{value!r} is not a language tag: {hint}.", field=field)
    try:
        return Locale.parse(value, sep="-")
    except UnknownLocaleError as error:
        raise ValidationFailed(f"Unknown language {value!r}: {hint}.", field=field) from error
    except ValueError as error:
        raise ValidationFailed(f"{value!r} is not a language tag: {hint}.", field=field) \
            from error


def _tag(locale: Locale) -> str:
    return "-".join(part for part in (locale.language, locale.script, locale.territory,
                                      locale.variant) if part)


def for_recipient(own_tag: str | None, organization_tag: str) -> "Language":
    """The language of a message to a person: their own, else their organization's."""
    return language(own_tag or organization_tag)


@lru_cache(maxsize=256)  # stored tags are checked: a handful of them in practice
def language(tag: str) -> "Language":
    """The `Language` of a stored tag. Tags are checked when they are stored; one that no
    longer parses (a Babel upgrade dropped its region) falls back to its language, else
    to the default: never to an error in a background job."""
    locale = _stored_locale(tag)
    return Language(tag=_tag(locale), locale=locale, catalogue=catalogue(locale.language))


def _stored_locale(tag: str) -> Locale:
    for candidate in (tag, tag.partition("-")[0]):
        try:
            locale = Locale.parse(candidate, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        if locale.language in SHIPPED:
            return locale
    return Locale.parse(DEFAULT)


@cache
def catalogue(language_code: str) -> gettext.NullTranslations:
    """The compiled catalogue of a shipped language; English, the source, has none."""
    if language_code == SHIPPED[0]:
        return gettext.NullTranslations()
    path = CATALOGUES / language_code / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as compiled:
        return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True, slots=True)
class Language:
    """The words and formats of one tag. `gettext` and `ngettext` are the names Babel's
    extraction looks for, so every string passed to them lands in the catalogues."""

    tag: str
    locale: Locale
    catalogue: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.catalogue.ngettext(singular, plural, count)

    def moment(self, at: datetime, zone: str) -> str:
        """An instant in `zone`, e.g. "martes, 8 de diciembre de 2026, 16:00 (hora de
        Argentina)" or "Tuesday, December 8, 2026, 4:00 PM (Argentina Time)"."""
        local = at.astimezone(ZoneInfo(zone))
        return self.day_and_time(local.date(), local.time(), zone)

    def day_and_time(self, day: date, clock: time, zone: str) -> str:
        """A day and a time on its clock, as `moment` writes them: for a clock time that
        `zone` skips that day (the clocks go forward), which no instant has."""
        # The full date with the short time, joined the way the locale joins its long ones.
        joined = (get_datetime_format("long", locale=self.locale).replace("'", "")
                  .replace("{1}", format_date(day, "full", locale=self.locale))
                  .replace("{0}", format_time(clock, "short", locale=self.locale)))
        return f"{joined} ({get_timezone_name(ZoneInfo(zone), locale=self.locale)})"

    def day(self, at: datetime, zone: str) -> str:
        """The date of an instant in `zone`, e.g. "8 de diciembre de 2026"."""
        return format_date(at.astimezone(ZoneInfo(zone)), "long", locale=self.locale)

    def money(self, minor_units: int, currency: str) -> str:
        """An amount in the currency's smallest unit (cents; yen), as the locale writes it:
        "$1.500,00" (pesos, in "es-AR"), "$1,500.00" (dollars, in "en")."""
        amount = Decimal(minor_units).scaleb(-get_currency_precision(currency))
        return format_currency(amount, currency, locale=self.locale)

    def duration(self, length: timedelta) -> str:
        """"1 week", "1 hour": the largest unit the length makes at least one of."""
        return format_timedelta(length, threshold=1, locale=self.locale)
