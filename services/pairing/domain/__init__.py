"""The pairing domain (pure); its rules arrive with the pairing issue."""
