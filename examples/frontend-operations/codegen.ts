// TypeScript types for the documents in operations/, from the server's exported
// schema. A schema change that breaks a document, or the code using its types,
// fails `npm run check` (and so CI: tests/test_frontend_operations.py).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  // SCHEMA lets the test prove that a breaking schema fails the check.
  schema: process.env.SCHEMA ?? "../../schema.graphql",
  documents: ["operations/**/*.graphql"],
  generates: {
    "src/generated/graphql.ts": {
      // typescript-operations 6 emits the enums and inputs the documents use itself;
      // the "typescript" plugin would declare them a second time.
      plugins: ["typescript-operations", "typed-document-node"],
      config: {
        // Our custom scalars travel as ISO-8601 strings.
        strictScalars: true,
        scalars: { Date: "string", DateTime: "string", LocalTime: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
    // The client preset's manifest of these documents, SHA-256 -> document
    // (src/generated/client/persisted-documents.json): the server runs only these with
    // BOOKINGS_TRUSTED_DOCUMENTS pointing at it, and a client sends just the hash.
    "src/generated/client/": {
      preset: "client",
      presetConfig: { persistedDocuments: { hashAlgorithm: "sha256" }, fragmentMasking: false },
      config: {
        strictScalars: true,
        scalars: { Date: "string", DateTime: "string", LocalTime: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
