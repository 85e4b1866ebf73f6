"""Appointments in the GraphQL layer: booking, lifecycle, cancellation, reschedule."""
