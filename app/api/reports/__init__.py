"""The organization's report in the GraphQL layer."""
