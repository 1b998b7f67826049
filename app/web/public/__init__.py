"""Pages without an account: log in, verification of a certified copy."""
