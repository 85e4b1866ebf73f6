"""Every GraphQL document in the README is valid against the served schema."""

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from app.api.schema import schema

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTS = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_graphql_examples():
    assert len(DOCUMENTS) >= 4


@pytest.mark.parametrize("document", DOCUMENTS, ids=[f"block{i}" for i in range(len(DOCUMENTS))])
def test_readme_document_is_valid(document):
    assert validate(schema._schema, parse(document)) == []
