"""Persisted documents: a client sends a document's SHA-256 instead of the document.

Two modes:

- **Automatic persisted queries** (the default), the protocol of Apollo Client and urql:
  `extensions.persistedQuery = {"version": 1, "sha256Hash": "<64 hex>"}` (or the
  GraphQL-over-HTTP draft's `documentId: "sha256:<64 hex>"`). A hash the server
  does not know is answered with PERSISTED_QUERY_NOT_FOUND; the client then sends the
  document with its hash once, and the server keeps it. The documents are kept in memory,
  least recently used first out, within a byte budget, so no client can fill memory.
- **Trusted documents** (`BOOKINGS_TRUSTED_DOCUMENTS`, a production hardening): a manifest
  of hash -> document, as graphql-codegen's client preset writes it, fixed at start. Only
  those documents run, whether a client sends the hash or the whole text; nothing is learnt
  from requests.
"""

import hashlib
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson

from app.api.http import OperationRequest, ProtocolErrorCode, Refusal
from app.config import ConfigurationError

# A SHA-256 in hexadecimal, with the "sha256:" prefix graphql-codegen's client preset writes.
_SHA256 = re.compile(r"(?:sha256:)?([0-9a-f]{64})")


class DocumentNotFound(Exception):
    """The client sent a hash this server has no document for; it may send the document."""

    message = "PersistedQueryNotFound"  # the text Apollo Client and urql look for
    code = ProtocolErrorCode.PERSISTED_QUERY_NOT_FOUND

    def answer(self) -> dict[str, Any]:
        return {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class PersistedDocuments:
    """Finds the document of each operation request; see the module's docstring."""

    def __init__(self, *, cache_bytes: int, trusted: dict[str, str] | None = None) -> None:
        self.cache_bytes = cache_bytes
        self.trusted = trusted
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cached_bytes = 0

    @classmethod
    def from_settings(cls, settings) -> "PersistedDocuments":
        trusted = (load_manifest(settings.trusted_documents)
                   if settings.trusted_documents is not None else None)
        return cls(cache_bytes=settings.apq_cache_bytes, trusted=trusted)

    def document(self, operation: OperationRequest) -> str:
        """The text to run; raises DocumentNotFound, or Refusal for a malformed request."""
        wanted = _persisted_hash(operation)
        if self.trusted is not None:
            return self._trusted_document(operation.query, wanted)
        if wanted is None:
            if operation.query is None:
                raise Refusal(400, "No GraphQL document: send `query` (or the SHA-256 of a "
                                   "document sent before, in `extensions.persistedQuery`).")
            return operation.query
        if operation.query is None:
            found = self._cache.get(wanted)
            if found is None:
                raise DocumentNotFound
            self._cache.move_to_end(wanted)
            return found
        if sha256(operation.query) != wanted:
            raise Refusal(400, "extensions.persistedQuery.sha256Hash is not the SHA-256 of "
                               "`query`; nothing was stored.")
        self._remember(wanted, operation.query)
        return operation.query

    def _trusted_document(self, query: str | None, wanted: str | None) -> str:
        if wanted is None and query is None:
            raise Refusal(400, "No GraphQL document: send the SHA-256 of a registered "
                               "document in `extensions.persistedQuery`.")
        key = wanted if wanted is not None else sha256(query)
        found = self.trusted.get(key)
        if found is None:
            if wanted is not None and query is None:
                raise DocumentNotFound
            raise Refusal(403, "This server runs only its registered (trusted) documents, and "
                               "this is not one of them.", code="FORBIDDEN")
        if query is not None and query != found:
            raise Refusal(400, "extensions.persistedQuery.sha256Hash is not the SHA-256 of "
                               "`query`.")
        return found

    def _remember(self, key: str, document: str) -> None:
        size = len(document.encode())
        if key in self._cache or size > self.cache_bytes:
            return
        self._cache[key] = document
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped.encode())

    @property
    def cached_bytes(self) -> int:
        return self._cached_bytes


def _persisted_hash(operation: OperationRequest) -> str | None:
    """The hex SHA-256 the client names (`documentId`, or `extensions.persistedQuery`),
    checked; None if it names none."""
    if operation.document_id is not None:
        return _hex(operation.document_id, "documentId")
    persisted = (operation.extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise Refusal(400, "extensions.persistedQuery must be an object: "
                           '{"version": 1, "sha256Hash": "<64 hexadecimal characters>"}.')
    if persisted.get("version", 1) != 1:
        raise Refusal(400, "extensions.persistedQuery.version must be 1.")
    return _hex(persisted.get("sha256Hash"), "extensions.persistedQuery.sha256Hash")


def _hex(value: object, name: str) -> str:
    found = _SHA256.fullmatch(value.lower()) if isinstance(value, str) else None
    if found is None:
        raise Refusal(400, f"{name} must be 64 hexadecimal characters (the SHA-256 of the "
                           "document), optionally after \"sha256:\".")
    return found.group(1)


def load_manifest(path: Path) -> dict[str, str]:
    """A trusted-documents manifest: a JSON object of SHA-256 -> document, each checked."""
    setting = f"BOOKINGS_TRUSTED_DOCUMENTS={path}"
    try:
        manifest = orjson.loads(path.read_bytes())
    except OSError as error:
        raise ConfigurationError(f"{setting}: cannot be read ({error.strerror})") from None
    except orjson.JSONDecodeError:
        raise ConfigurationError(f"{setting}: is not JSON") from None
    if not isinstance(manifest, dict) or not manifest:
        raise ConfigurationError(f"{setting}: must be a JSON object of SHA-256 -> document")
    documents = {}
    for key, document in manifest.items():
        hash_ = key.lower().removeprefix("sha256:")
        if not isinstance(document, str) or sha256(document) != hash_:
            raise ConfigurationError(f"{setting}: the entry {key} is not a document with that "
                                     "SHA-256")
        documents[hash_] = document
    return documents
