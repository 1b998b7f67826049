"""Read models: what the pages and the API show (inbox, due lists, reports, audit, search)."""
