"""Administration: agencies and staff, citizen accounts, working calendars, signing set-up."""
