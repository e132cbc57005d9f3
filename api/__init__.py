"""FastAPI application serving police and prosecutors."""
