"""How long a run may take, defined once; every other limit is made from these.

A call tries three times, each with 3 s to connect and 5 s to read, so one call against a hung
endpoint gives up after about 16 s. No write starts later than 28 s into a run, so a run ends
within 45 s however many targets it changes. A run's lease on the shared pause record lasts
longer than that, and less than the minute between runs. In Lambda, the writes stop early
enough to leave one hung call and the records their time. A call that a run asks again itself,
after botocore's tries (a throttled write, a cluster's tags), waits longer each time, within the
run's time for writes.

A transient failure that botocore does not try again (a transaction's conflict, a
concurrent update, a batch read's unprocessed keys) is tried as botocore tries a call, TRIES in
all, after waits that stay within a hung call's second of backoff. A failsafe schedule is set to
fire no sooner than a run and the interval after the run's start, so that the next run moves it
before it is due, and no schedule is sent whose time is less than a hung call away.
"""

CONNECT_SECONDS = 3
READ_SECONDS = 5
TRIES = 3  # botocore's total_max_attempts: tries, not retries
# One call against a hung endpoint: every try waits out its read, plus botocore's backoff.
HUNG_CALL_SECONDS = TRIES * READ_SECONDS + 1
# The first wait before trying a transient failure again; doubled at each try (aws.backoff).
TRANSIENT_WAIT_SECONDS = 0.25

WRITE_BUDGET_SECONDS = 28  # no write starts later than this into a run
RUN_SECONDS = WRITE_BUDGET_SECONDS + HUNG_CALL_SECONDS + 1  # the longest a run lasts: 45
# The events of a run's changes (events_bus) are told after its writes and its record: no call
# to tell them starts later than this after the time for writes, so that one that hangs still
# ends within RUN_SECONDS.
TELL_SECONDS = RUN_SECONDS - WRITE_BUDGET_SECONDS - HUNG_CALL_SECONDS
LEASE_SECONDS = RUN_SECONDS + 5  # the default lease: longer than a run, under a minute

# A call a run asks again itself waits this long first, then twice as long each time, up to the
# most.
BACKOFF_FIRST, BACKOFF_MOST = 0.5, 8.0
# The clusters' tags (DescribeCluster) are asked again for at most this share of a run's time
# for writes: the writes keep the rest.
TAGS_SHARE = 0.5

# Lambda: the time an invocation keeps after its last write may start: one hung call and the
# records.
LAMBDA_RESERVE_SECONDS = HUNG_CALL_SECONDS + 2

# A host whose clock is further than this from AWS's goes by AWS's, and says so.
CLOCK_SKEW_SECONDS = 2
# How far apart two hosts' runs may place one moment: each goes by AWS's clock, or by its own
# within CLOCK_SKEW_SECONDS of it. A lease or a time further ahead than that cannot be true.
CLOCK_SLACK_SECONDS = 2 * CLOCK_SKEW_SECONDS


def failsafe_lead(interval: float) -> float:
    """The least time a failsafe schedule is due after the start of the run that sets it: the
    run, and the `interval` to the next run, which moves it before it is due."""
    return RUN_SECONDS + interval
