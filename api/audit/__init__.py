"""The access log: who read whose position data, when, over which range, and why."""
