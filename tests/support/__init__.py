"""What the tests, `make demo` and `make bench` share: an AWS world on moto, moto server, the
fault proxy, and running the tool as cron runs it."""
