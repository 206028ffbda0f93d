"""The system-wide registry every producer module files its contracts in."""

from shared.contracts.base import ContractRegistry

CONTRACTS = ContractRegistry()
