"""Process-wide configuration: typed settings and logging set-up."""
