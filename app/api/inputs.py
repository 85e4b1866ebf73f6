"""Turning GraphQL inputs into the plain changes the services take."""

from dataclasses import fields
from typing import Any

import strawberry


def given_changes(input: object, *, exclude: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    """The input's fields that the client actually sent (an explicit null included)."""
    return {
        field.name: getattr(input, field.name)
        for field in fields(input)  # type: ignore[arg-type]
        if field.name not in exclude and getattr(input, field.name) is not strawberry.UNSET
    }
