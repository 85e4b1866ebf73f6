"""Reports for the centre: how full its professionals were, what was missed or cancelled
late, and what clients bought, used and still hold (docs/rules.md: reports)."""
