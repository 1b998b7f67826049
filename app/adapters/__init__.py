"""Adapters: the database and its models and migrations, the file store, keys, the outbox, PDF rendering."""
