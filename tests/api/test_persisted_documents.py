"""Persisted documents: automatic persisted queries, and the trusted-documents mode."""

import hashlib
import json

import pytest

from app.api.http import OperationRequest, Refusal
from app.api.persisted import DocumentNotFound, PersistedDocuments, load_manifest
from app.config import ConfigurationError

ME = "query Me { me { email } }"
ADHOC = "{ me { email role } }"


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(hash_: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": hash_}}


def bearer(member) -> dict[str, str]:
    return {"authorization": f"Bearer {member.token}"}


async def test_a_hash_is_not_found_until_the_document_is_sent_once(api, org):
    document = f"{ME} # {org.slug}"  # a document no other test has registered
    only_hash = {"extensions": persisted(sha(document))}

    first = await api.http.post("/graphql", json=only_hash, headers=bearer(org.client))
    registered = await api.http.post("/graphql", json={"query": document, **only_hash},
                                     headers=bearer(org.client))
    again = await api.http.post("/graphql", json=only_hash, headers=bearer(org.client))

    assert first.status_code == 200
    assert first.json() == {"errors": [{"message": "PersistedQueryNotFound",
                                        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    expected = {"data": {"me": {"email": org.client.user.email}}}
    assert registered.json() == again.json() == expected


async def test_a_persisted_query_runs_over_get_too(api, org):
    document = f"query Public {{ __typename }} # {org.slug}"
    await api.http.post("/graphql", json={"query": document, "extensions": persisted(sha(document))})
    response = await api.http.get("/graphql", params={
        "extensions": json.dumps(persisted(sha(document)))})
    assert response.json() == {"data": {"__typename": "Query"}}
    assert "cache-control" not in response.headers  # public: a CDN may keep it


async def test_not_found_is_400_in_the_new_media_type(api, org):
    response = await api.http.post("/graphql", json={"extensions": persisted("a" * 64)},
                                   headers={"accept": "application/graphql-response+json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(("extensions", "message"), [
    (persisted("abc"), "64 hexadecimal characters"),
    (persisted("g" * 64), "64 hexadecimal characters"),
    ({"persistedQuery": "x"}, "must be an object"),
    ({"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}}, "version must be 1"),
    (persisted(sha("{ __typename }")), "is not the SHA-256 of `query`"),
])
async def test_a_bad_hash_is_refused_and_nothing_is_stored(api, org, extensions, message):
    document = f"{ME} # {org.slug}"
    response = await api.http.post("/graphql", json={"query": document, "extensions": extensions})
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]
    stored = await api.http.post("/graphql", json={"extensions": persisted(sha(document))})
    assert stored.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_the_cache_keeps_the_latest_documents_within_its_byte_budget():
    documents = PersistedDocuments(cache_bytes=100)
    texts = [f"query Q{index} {{ __typename }}".ljust(30) for index in range(5)]  # 30 bytes each
    for text in texts:
        documents.document(OperationRequest(text, None, None, persisted(sha(text))))
    assert documents.cached_bytes <= 100
    for text in texts[:2]:  # the oldest made room
        with pytest.raises(DocumentNotFound):
            documents.document(OperationRequest(None, None, None, persisted(sha(text))))
    assert documents.document(OperationRequest(None, None, None, persisted(sha(texts[4])))) == \
        texts[4]
    huge = "{ __typename }" + " " * 200
    documents.document(OperationRequest(huge, None, None, persisted(sha(huge))))
    assert documents.cached_bytes <= 100  # a document over the budget runs, but is not kept


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({sha(ME): ME}))
    return path


async def test_trusted_documents_run_only_the_manifests_documents(app_with, org, manifest):
    client = app_with(trusted_documents=manifest)
    by_hash = await client.post("/graphql", json={"extensions": persisted(sha(ME))},
                                headers=bearer(org.client))
    by_text = await client.post("/graphql", json={"query": ME}, headers=bearer(org.client))
    adhoc = await client.post("/graphql", json={"query": ADHOC}, headers=bearer(org.client))
    unknown = await client.post("/graphql", json={"extensions": persisted(sha(ADHOC))},
                                headers=bearer(org.client))
    learn = await client.post("/graphql", json={"query": ADHOC, "extensions": persisted(sha(ADHOC))},
                              headers=bearer(org.client))

    expected = {"data": {"me": {"email": org.client.user.email}}}
    assert by_hash.json() == by_text.json() == expected
    assert adhoc.status_code == learn.status_code == 403
    assert adhoc.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "only its registered (trusted) documents" in adhoc.json()["errors"][0]["message"]
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "is not JSON"),
    ("[]", "must be a JSON object"),
    (json.dumps({"a" * 64: ME}), "is not a document with that SHA-256"),
])
def test_a_bad_manifest_stops_the_server_naming_it(tmp_path, content, message):
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message) as refused:
        load_manifest(path)
    assert str(refused.value).startswith(f"BOOKINGS_TRUSTED_DOCUMENTS={path}: ")


def test_a_missing_manifest_stops_the_server(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_manifest(tmp_path / "nowhere.json")


def test_a_refusal_is_a_400():
    documents = PersistedDocuments(cache_bytes=10)
    with pytest.raises(Refusal) as refused:
        documents.document(OperationRequest(None, None, None, None))
    assert refused.value.status == 400
