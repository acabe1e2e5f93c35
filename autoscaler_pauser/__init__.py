"""Pause a DynamoDB throughput autoscaler while backup EMR clusters run."""

__version__ = "1.0.0"

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_STUCK = 0, 1, 2, 3
