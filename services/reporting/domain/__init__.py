"""The reporting domain: the work standard and how a pairing measures against it (pure)."""
