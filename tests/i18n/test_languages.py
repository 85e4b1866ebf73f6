"""Language tags and formats (app/i18n/languages.py): what a person may choose, the words
and formats it gives, and which one a message takes."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import ValidationFailed
from app.i18n.languages import checked_tag, for_recipient, language

BUENOS_AIRES = "America/Argentina/Buenos_Aires"
# Tuesday 8 December 2026, 16:00 in Buenos Aires (UTC-3, no summer time).
TUESDAY_AT_FOUR = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)


def spaced(text: str) -> str:
    """CLDR's narrow and no-break spaces as plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize(("given", "stored"), [
    ("en", "en"), ("es", "es"), ("es-AR", "es-AR"), ("ES-ar", "es-AR"), ("es-419", "es-419"),
    ("en-GB", "en-GB"),
])
def test_a_tag_of_a_shipped_language_is_stored_in_its_canonical_form(given, stored):
    assert checked_tag(given, "locale") == stored


@pytest.mark.parametrize(("given", "says"), [
    ("xx-YY", "Unknown language"),
    ("es_AR ", "not a language tag"),
    ("es_AR", "not a language tag"),
    ("", "not a language tag"),
    (" es", "not a language tag"),
    ("es-AR-x-private-use", "not a language tag"),
    ("e" * 40, "not a language tag"),
    ("fr", "supported languages: en, es"),
    ("de-AT", "supported languages: en, es"),
])
def test_a_malformed_unknown_or_unshipped_tag_is_refused_on_its_field(given, says):
    with pytest.raises(ValidationFailed) as refused:
        checked_tag(given, "locale")
    assert refused.value.field == "locale"
    assert says in refused.value.message


@given(st.text(max_size=40))
def test_any_text_is_a_stored_tag_of_the_tables_shape_or_a_validation_error(text):
    try:
        tag = checked_tag(text, "locale")
    except ValidationFailed as refused:
        assert refused.field == "locale" and refused.message
    else:
        assert re.fullmatch(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*", tag)  # migration 0014
        assert tag.split("-")[0] in ("en", "es")


def test_a_regional_variant_takes_its_languages_words_and_its_regions_formats():
    argentina, spain = language("es-AR"), language("es")
    assert argentina.gettext("Your appointment is booked") == "Tu turno está reservado"
    assert spain.gettext("Your appointment is booked") == "Tu turno está reservado"
    # Argentina writes its peso as "$"; elsewhere it is "ARS". (CLDR's spacing may change
    # between Babel releases; the words, order and separators do not.)
    assert argentina.money(150050, "ARS").replace("\xa0", "") == "$1.500,50"
    assert spain.money(150050, "ARS").replace("\xa0", " ") == "1.500,50 ARS"


def test_dates_and_times_are_in_the_zone_and_the_locales_own_words_and_order():
    assert language("es").moment(TUESDAY_AT_FOUR, BUENOS_AIRES) == (
        "martes, 8 de diciembre de 2026, 16:00 (hora de Argentina)")
    assert spaced(language("en").moment(TUESDAY_AT_FOUR, BUENOS_AIRES)) == (
        "Tuesday, December 8, 2026, 4:00 PM (Argentina Time)")
    assert spaced(language("en").moment(TUESDAY_AT_FOUR, "Asia/Tokyo")).startswith(
        "Wednesday, December 9, 2026, 4:00 AM")
    assert language("es").day(TUESDAY_AT_FOUR, BUENOS_AIRES) == "8 de diciembre de 2026"


def test_money_is_in_the_currencys_own_minor_unit():
    assert language("en").money(150050, "USD") == "$1,500.50"
    assert language("en").money(1500, "JPY") == "¥1,500"  # yen have no cents
    assert spaced(language("es").money(1500, "BHD")) == "1,500 BHD"  # a dinar is 1,000 fils


def test_plurals_follow_the_languages_rules():
    credits = ("{count} credit", "{count} credits")
    assert [language("es").ngettext(*credits, n).format(count=n) for n in (0, 1, 2)] == [
        "0 créditos", "1 crédito", "2 créditos"]
    assert [language("en").ngettext(*credits, n).format(count=n) for n in (0, 1, 2)] == [
        "0 credits", "1 credit", "2 credits"]


def test_durations_are_said_in_the_largest_whole_unit():
    assert language("es").duration(timedelta(days=7)) == "1 semana"
    assert language("en").duration(timedelta(hours=1)) == "1 hour"


def test_a_persons_own_language_wins_over_the_organizations():
    assert for_recipient("en", "es-AR").tag == "en"
    assert for_recipient(None, "es-AR").tag == "es-AR"


def test_a_stored_tag_that_no_longer_parses_falls_back_to_its_language_else_english():
    assert language("es-XX").tag == "es"  # a region Babel does not know (any more)
    assert language("tlh").tag == "en"
    assert language("fr").tag == "en"
