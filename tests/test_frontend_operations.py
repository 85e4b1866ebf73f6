"""examples/frontend-operations: graphql-codegen types its documents from schema.graphql and
`tsc --noEmit` checks the code using them, so a schema change that breaks a frontend fails.
Its client preset also writes the manifest of those documents that the server's
trusted-documents mode (BOOKINGS_TRUSTED_DOCUMENTS) runs, and nothing else."""

import json
import os
import subprocess
from pathlib import Path

from graphql import (
    NonNullTypeNode,
    OperationDefinitionNode,
    build_schema,
    parse,
    print_schema,
)

from tests.node_projects import ROOT, node_project

PROJECT = ROOT / "examples" / "frontend-operations"
CODEGEN = PROJECT / "node_modules" / "@graphql-codegen" / "cli" / "cjs" / "bin.js"
TSC = PROJECT / "node_modules" / "typescript" / "bin" / "tsc"
MANIFEST = PROJECT / "src" / "generated" / "client" / "persisted-documents.json"


def run(node: str, *arguments: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([node, *arguments], cwd=PROJECT, capture_output=True, text=True,
                          check=False, timeout=180, env={**os.environ, **env})


def test_codegen_and_type_check_pass_against_the_exported_schema():
    node = node_project(PROJECT)
    codegen = run(node, str(CODEGEN), "--config", "codegen.ts")
    assert codegen.returncode == 0, codegen.stdout + codegen.stderr
    generated = (PROJECT / "src" / "generated" / "graphql.ts").read_text()
    for operation in ("AvailabilityCalendarQuery", "BookTimeSlotMutation",
                      "CancellationPreviewQuery", "CancelAppointmentMutation",
                      "CreditBalanceQuery", "CreditHistoryQuery", "StaffDayQuery"):
        assert f"export type {operation} =" in generated
    typecheck = run(node, str(TSC), "--noEmit", "-p", ".")
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr


def test_a_schema_that_drops_a_field_a_document_uses_fails_codegen(tmp_path: Path):
    node = node_project(PROJECT)
    schema = build_schema((ROOT / "schema.graphql").read_text())
    del schema.type_map["CancellationPreview"].fields["refundCredits"]
    (tmp_path / "schema.graphql").write_text(print_schema(schema))
    codegen = run(node, str(CODEGEN), "--config", "codegen.ts",
                  SCHEMA=str(tmp_path / "schema.graphql"))
    assert codegen.returncode != 0
    assert 'Cannot query field "refundCredits" on type "CancellationPreview"' in (
        codegen.stdout + codegen.stderr)


async def test_in_trusted_mode_the_apps_documents_run_by_hash_and_nothing_else(app_with, org):
    node = node_project(PROJECT)
    codegen = run(node, str(CODEGEN), "--config", "codegen.ts")
    assert codegen.returncode == 0, codegen.stdout + codegen.stderr
    manifest = json.loads(MANIFEST.read_text())
    assert len(manifest) >= 10
    client = app_with(trusted_documents=MANIFEST)
    headers = {"authorization": f"Bearer {org.client.token}"}

    for document_id, document in manifest.items():
        # As the client preset's documents carry it: `__meta__.hash`, "sha256:<hex>".
        answer = (await client.post("/graphql", json={"documentId": document_id},
                                    headers=headers)).json()
        codes = {error.get("extensions", {}).get("code") for error in answer.get("errors", [])}
        assert not codes & {"PERSISTED_QUERY_NOT_FOUND", "FORBIDDEN", "BAD_REQUEST"}, answer
        (operation,) = [definition for definition in parse(document).definitions
                        if isinstance(definition, OperationDefinitionNode)]
        needs_input = any(isinstance(variable.type, NonNullTypeNode)
                          and variable.default_value is None
                          for variable in operation.variable_definitions or ())
        if operation.operation.value == "query" and not needs_input:
            assert "errors" not in answer, answer  # ran, in full

    adhoc = await client.post("/graphql", json={"query": "{ me { email } }"}, headers=headers)
    assert adhoc.status_code == 403
    assert adhoc.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
