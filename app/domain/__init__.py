"""Pure rules of the service: no Flask, no SQL. Each fact is written once, here."""
