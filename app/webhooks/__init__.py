"""Outgoing webhooks (docs/rules.md: webhooks; work in progress, see the note on issue 22).

`addresses` decides where the server may send (the SSRF guard); `signing` signs a delivery
as the Standard Webhooks specification says, with its own library.
"""
