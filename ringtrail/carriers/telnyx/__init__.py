"""The Telnyx TeXML dialect: Ed25519-signed webhooks, TwiML-compatible markup."""
