"""SpiffWorkflow glue: process versions, the script environment, running dossiers, the audit trail."""
