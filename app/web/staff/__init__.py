"""Staff pages: inbox, dossiers, walk-ins, deadlines, appointments, registers, set-up, statistics."""
