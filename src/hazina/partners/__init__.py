"""The partner ecosystem: tenants, partner apps, OAuth2 tokens, webhooks, usage, revenue share."""
