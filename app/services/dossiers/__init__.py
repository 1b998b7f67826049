"""Use cases of a dossier: filing, the tasks of its routing, its documents, fee, rating and receipts."""
