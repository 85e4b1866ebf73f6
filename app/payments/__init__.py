"""Paying online for credit packages (docs/rules.md: buying credits online).

`checkout` starts a purchase: a PENDING ledger entry and the provider's hosted checkout
page. Only the provider's signed word settles it: `webhooks` verifies and reads the events,
`settlement` completes or fails the purchase once per event, and `reconcile` asks the
provider about purchases whose events never came. The provider sits behind `provider`'s
small interface; Stripe (`stripe_checkout`) is the one there is.
"""
