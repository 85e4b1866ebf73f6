"""Multi-tenant booking and prepaid-credits GraphQL API server."""
