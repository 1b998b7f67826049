"""Web layer: blueprints per audience over the service layer."""
