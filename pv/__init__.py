"""pv: executable contracts for LLM pretraining stacks."""

__version__ = "0.1.0"
SCHEMA_VERSION = "pv/v1"
