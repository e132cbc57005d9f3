"""Latest positions of the cases in the caller's scope."""
