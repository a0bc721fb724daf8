"""Identity: passwords, second factors, API keys, roles and scopes, phone numbers."""
