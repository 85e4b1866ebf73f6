"""Languages: the words, dates and money of every message a person receives
(docs/rules.md: languages).

`languages` parses and checks the tags people choose ("es-AR") and hands out a `Language`:
its gettext catalogue (`locales/<language>/LC_MESSAGES/messages.po`, compiled to `.mo`
and committed, so an installed wheel needs no build step) and Babel's formatting of
dates, times and money for the full regional tag. English is the source language: the
message ids are the English text, so it needs no catalogue.

API error messages are not translated: frontends translate by their `code`.
"""
