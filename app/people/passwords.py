"""The password rules (docs/rules.md: accounts), in the one function every path uses.

The list of common passwords is Django's (`common-passwords.txt.gz`: about 20,000
lowercased passwords compiled by Royce Williams, BSD licence in
`common-passwords.LICENSE`), shipped in the package so the check needs no network.
"""

import gzip
from functools import cache
from pathlib import Path

from app.errors import WeakPassword

MIN_LENGTH = 10
# argon2 hashes any length, but a megabyte "password" is a denial of service, not a secret.
MAX_LENGTH = 256
_COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(_COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


def check_password(password: str, *, email: str, field: str) -> str:
    """The password if it follows the rules; otherwise WEAK_PASSWORD naming `field`.

    At least 10 characters, not the account's email (nor its part before the @), and
    not one of the common passwords, compared without case.
    """
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters.", field=field)
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.", field=field)
    if "\x00" in password:
        raise WeakPassword("A password cannot contain NUL characters.", field=field)
    folded = password.strip().casefold()
    email = email.strip().casefold()
    if folded in (email, email.partition("@")[0]):
        raise WeakPassword("A password cannot be your email address.", field=field)
    if folded in _common_passwords():
        raise WeakPassword("This password is too common; choose one that is harder to guess.",
                           field=field)
    return password
