"""examples/frontend-operations: graphql-codegen types its documents from schema.graphql and
`tsc --noEmit` checks the code using them, so a schema change that breaks a frontend fails."""

import os
import subprocess
from pathlib import Path

from graphql import build_schema, print_schema

from tests.node_projects import ROOT, node_project

PROJECT = ROOT / "examples" / "frontend-operations"
CODEGEN = PROJECT / "node_modules" / "@graphql-codegen" / "cli" / "cjs" / "bin.js"
TSC = PROJECT / "node_modules" / "typescript" / "bin" / "tsc"


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
