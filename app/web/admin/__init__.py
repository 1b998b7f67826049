"""Administrator pages: agencies and users, routing versions."""
