"""What every audience's pages share: sessions and CSRF, bearer tokens, the menu, formatting."""
