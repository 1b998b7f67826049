"""One JSON Schema per user task; installed as the package data `app.resources.forms`."""
