"""Notifications: an outbox written inside the transactions that cause messages, and its delivery."""
