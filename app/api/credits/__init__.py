"""Credit balances and the credit ledger in the GraphQL layer."""
