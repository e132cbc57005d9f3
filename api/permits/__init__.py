"""Leave permits: entered by police, approved or rejected by the responsible role."""
