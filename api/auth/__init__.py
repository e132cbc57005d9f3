"""Authentication: OAuth2 password flow, short-lived JWT access tokens, rotating refresh tokens."""
