"""Case rules: zone + kind + schedule + grace, validated as the geofence engine will read them."""
