"""Availability rules, time off, time slots and availability in the GraphQL layer."""
