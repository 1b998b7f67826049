"""The routing variants: versions, the pre-save checks, dry runs, activation and migration."""
