"""The notify domain (pure); its rules arrive with the notify issue."""
