"""Reading JSON (twin of scan/): `tree`, the exact parse, which the pure twin reads every event with."""
