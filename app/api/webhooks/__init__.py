"""Outgoing webhooks in the GraphQL layer: ADMIN's endpoints, their deliveries and attempts."""
