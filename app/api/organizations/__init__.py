"""The organization (the tenant) and its booking rules in the GraphQL layer."""
