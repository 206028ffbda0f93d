"""The pairing domain (pure): registration, eligibility, the pairing rules, the solver, the commands."""
