"""Starts carepair on one machine: a NATS server from the wheel and every service process."""
