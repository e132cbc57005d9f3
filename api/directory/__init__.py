"""Directory: units, users and persons, administered within the caller's unit subtree."""
