"""The citizen portal (/cong-dan)."""
