"""The visits domain: what a cadre's record of a contact or visit must satisfy (pure)."""
