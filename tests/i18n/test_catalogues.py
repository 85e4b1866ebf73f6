"""The gettext catalogues (app/i18n): every message id in the code is in every shipped
language's catalogue, translated in every plural form with the same placeholders, and the
committed `.mo` files are the `.po` files compiled. Run in CI, so a new message without
its Spanish fails here, not in a family's inbox."""

import re
from io import BytesIO

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from app.i18n.languages import CATALOGUES, DOMAIN, SHIPPED

APP = CATALOGUES.parents[1]
TRANSLATED = SHIPPED[1:]  # English is the source: its words are the ids
# Both kinds the code uses: "{name}" (str.format) and "%(name)s" (Jinja's {% trans %}).
_PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def extracted_ids() -> set[str | tuple[str, str]]:
    """The message ids in app/ now, extracted as `pybabel extract` does."""
    with (CATALOGUES.parent / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            APP, method_map, options_map):
        found.add(key(message))
    return found


def catalogue(language: str):
    with (CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return read_po(source, locale=language)


def key(message_id) -> str | tuple[str, ...]:
    """A message id, hashable: a plural's is the singular and the plural."""
    return message_id if isinstance(message_id, str) else tuple(message_id)


def ids_of(catalog) -> set[str | tuple[str, ...]]:
    return {key(message.id) for message in catalog if message.id}


def placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


def test_the_code_has_messages_to_translate():
    ids = extracted_ids()
    assert "Your appointment is booked" in ids
    assert ("{count} credit", "{count} credits") in ids
    assert "Accept the invitation" in ids  # from a template's {% trans %}


def test_the_template_holds_every_message_of_the_code_and_no_other():
    with (CATALOGUES.parent / f"{DOMAIN}.pot").open("rb") as source:
        template = read_po(source)
    assert ids_of(template) == extracted_ids(), (
        "app/i18n/messages.pot is out of date: run the extract and update commands of "
        "README.md (Development)")


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(language):
    catalog = catalogue(language)
    missing = extracted_ids() - ids_of(catalog)
    assert not missing, f"{language}: no entry for {sorted(missing, key=str)}"
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: {message.id!r} is marked fuzzy"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(strings) == (catalog.num_plurals if message.pluralizable else 1)
        singular = message.id[0] if message.pluralizable else message.id
        for string in strings:
            assert string.strip(), f"{language}: {message.id!r} has no translation"
            assert placeholders(string) == placeholders(singular), (
                f"{language}: {message.id!r} -> {string!r} changes the placeholders")
    assert not [error for _message, errors in catalog.check() for error in errors]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_committed_mo_file_is_the_po_file_compiled(language):
    compiled = BytesIO()
    write_mo(compiled, catalogue(language))
    compiled.seek(0)
    expected = read_mo(compiled)
    with (CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as committed:
        shipped = read_mo(committed)
    assert {key(message.id): key(message.string) for message in shipped if message.id} == {
        key(message.id): key(message.string) for message in expected if message.id}, (
        f"{language}: the .mo is stale: run `pybabel compile -d app/i18n/locales`")
