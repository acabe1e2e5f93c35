"""An AWS failure as one line: the operation, the AWS error code and the message (aws.py), also
when an error page comes instead of an AWS error. The pages are the fault proxy's, read by
botocore's own parser as a client reads them. A listing's pages, followed token by token. The
transient failures botocore does not retry, tried again here, and what their line says."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.parsers import create_parser

from autoscaler_pauser.aws import (
    AwsError,
    _code_and_message,
    aws_error,
    backoff,
    error_code,
    list_matching_clusters,
    one_line,
    pages,
    retry_transient,
)
from autoscaler_pauser.timing import (
    HUNG_CALL_SECONDS,
    READ_SECONDS,
    TRANSIENT_WAIT_SECONDS,
    TRIES,
)
from tests.support.proxy import ERROR_ANSWERS, PAGE_ANSWERS

IAM_PAGE_MESSAGE = (
    "User: arn:aws:iam::123456789012:user/pauser is not authorized to perform: ecs:DescribeServices"
)


def parsed(status: int, content_type: str, body: str) -> dict:
    """An answer to EMR's ListClusters as botocore parses it: its Error and ResponseMetadata."""
    model = botocore.session.get_session().get_service_model("emr")
    parser = create_parser(model.metadata["protocol"])
    answer = {"status_code": status, "headers": {"Content-Type": content_type}, "body": body}
    return parser.parse({**answer, "body": body.encode()}, None)


def client_error(response: dict) -> ClientError:
    return ClientError(response, "ListClusters")


# (code, message) as botocore gives them -> (code, message) as a log line says them
CODES_AND_MESSAGES = {
    "an AWS error": (
        {"Code": "ThrottlingException", "Message": "Rate exceeded"},
        ("ThrottlingException", "Rate exceeded"),
    ),
    "no code, no message": ({}, ("Unknown", "")),
    "empty code and message": ({"Code": "", "Message": None}, ("Unknown", "")),
    "a message over lines": (
        {"Code": "ValidationException", "Message": "first\n  second\r\nthird"},
        ("ValidationException", "first second third"),
    ),
    "an XML page for an HTTP status": (
        {
            "Code": "403",
            "Message": "<?xml version='1.0'?><Error><Code> AccessDenied </Code>"
            "<Message>\n  no\n  entry </Message></Error>",
        },
        ("AccessDenied", "no entry"),
    ),
    "an XML page without a message": (
        {"Code": "400", "Message": "<Error><Code>Throttling</Code></Error>"},
        ("Throttling", ""),
    ),
    "an HTTP status without a page": (
        {"Code": "502", "Message": "Bad Gateway"},
        ("502", "Bad Gateway"),
    ),
    "an AWS code keeps itself, whatever its message holds": (
        {"Code": "AccessDenied", "Message": "<Code>Other</Code> denied"},
        ("AccessDenied", "Other denied"),
    ),
}


@pytest.mark.parametrize("name", list(CODES_AND_MESSAGES))
def test_the_code_and_message_of_an_error_are_one_line_each(name):
    error, expected = CODES_AND_MESSAGES[name]
    assert _code_and_message(error) == expected


# text -> the same on one line
ONE_LINE = {
    "plain": ("Rate exceeded", "Rate exceeded"),
    "line breaks and runs of space": ("a\nb\r\n\tc   d\n", "a b c d"),
    "markup": ("<html><body><h1>502 Bad Gateway</h1></body></html>", "502 Bad Gateway"),
    "an XML declaration and a doctype": ("<?xml version='1.0'?><!DOCTYPE x><a>b</a>", "b"),
    "a comparison is no markup": ("a < b, 1 <2> 3, x<y", "a < b, 1 <2> 3, x<y"),
}


@pytest.mark.parametrize("name", list(ONE_LINE))
def test_one_line_drops_markup_and_line_breaks(name):
    text, expected = ONE_LINE[name]
    assert one_line(text) == expected


def test_one_line_cuts_a_long_text_to_its_limit_with_an_ellipsis():
    assert one_line("x" * 300) == "x" * 300
    cut = one_line("x" * 301)
    assert len(cut) == 300 and cut == "x" * 299 + "…"
    assert one_line("abcdef", limit=4) == "abc…"


# the fault proxy's answer -> the line aws_error makes of it, its code, and whether it is
# throttled or denied
PAGES = {
    "html502": ("ListClusters failed: 502: Bad Gateway", "502", False, False),
    "iam403": (
        f"ListClusters failed: AccessDenied: {IAM_PAGE_MESSAGE}",
        "AccessDenied",
        False,
        True,
    ),
}


@pytest.mark.parametrize("kind", list(PAGES))
def test_an_error_page_is_one_line_with_the_code_inside_it(kind):
    line, code, throttled, denied = PAGES[kind]
    e = client_error(parsed(*PAGE_ANSWERS[kind]))
    error = aws_error("ListClusters", e)
    assert (str(error), error.code, error.throttled, error.denied) == (
        line,
        code,
        throttled,
        denied,
    )
    assert error_code(e) == code


@pytest.mark.parametrize("kind", list(ERROR_ANSWERS))
def test_an_aws_error_answer_is_one_line_with_its_code(kind):
    status, code, message = ERROR_ANSWERS[kind]
    body = f'{{"__type": "{code}", "message": "{message}"}}'
    e = client_error(parsed(status, "application/x-amz-json-1.1", body))
    error = aws_error("ListClusters", e)
    assert str(error) == f"ListClusters failed: {code}: {message}"
    assert (error.code, error.status) == (code, status)
    assert error.throttled is (kind == "throttle") and error.denied is (kind == "denied")
    assert error_code(e) == code


def test_a_failure_without_an_answer_is_one_line_with_its_type_and_no_code():
    e = ReadTimeoutError(endpoint_url="http://127.0.0.1:9/")
    error = aws_error("UpdateService", e)
    assert (
        str(error)
        == 'UpdateService failed: ReadTimeoutError: Read timeout on endpoint URL: "http://127.0.0.1:9/"'
    )
    assert error.code is None and not error.throttled and not error.denied
    assert error_code(e) is None
    error = aws_error("ListClusters", EndpointConnectionError(endpoint_url="http://a/\nb"))
    assert str(error).startswith("ListClusters failed: EndpointConnectionError: ")
    assert "\n" not in str(error)


class Listing:
    """A listing call that answers from its pages, noting what it was asked."""

    def __init__(self, *answers: dict):
        self.answers, self.asked = list(answers), []

    def __call__(self, **params):
        self.asked.append(params)
        return self.answers.pop(0)


def cluster(n: int, name: str) -> dict:
    return {"Id": f"j-{n}", "Name": name, "Status": {"State": "RUNNING"}}


def test_pages_follow_the_token_until_a_page_has_none():
    listing = Listing({"Clusters": [1], "Marker": "a"}, {"Clusters": [2], "Marker": "b"}, {})
    assert list(pages(listing, "Marker", ClusterStates=["RUNNING"])) == [
        {"Clusters": [1], "Marker": "a"},
        {"Clusters": [2], "Marker": "b"},
        {},
    ]
    assert listing.asked == [
        {"ClusterStates": ["RUNNING"]},
        {"ClusterStates": ["RUNNING"], "Marker": "a"},
        {"ClusterStates": ["RUNNING"], "Marker": "b"},
    ]


@pytest.mark.parametrize("last", [{"NextToken": ""}, {"NextToken": None}, {}])
def test_an_empty_or_missing_token_ends_the_pages(last):
    listing = Listing({"NextToken": "t"}, last)
    assert len(list(pages(listing, "NextToken"))) == 2 and listing.answers == []


def test_the_same_token_twice_fails_the_listing_with_one_line():
    listing = Listing(
        {"Clusters": [cluster(1, "b-1")], "Marker": "m"},
        {"Clusters": [cluster(2, "b-2")], "Marker": "m"},
    )

    class Emr:
        list_clusters = staticmethod(listing)

    with pytest.raises(AwsError) as e:
        list_matching_clusters(Emr(), ["b-"])
    assert str(e.value) == "ListClusters failed: RuntimeError: the same Marker twice: m"


def test_matching_clusters_come_from_every_page():
    listing = Listing(
        {"Clusters": [cluster(2, "b-2"), cluster(9, "other")], "Marker": "m"},
        {"Clusters": [cluster(1, "b-1")]},
    )

    class Emr:
        list_clusters = staticmethod(listing)

    found = list_matching_clusters(Emr(), ["b-"])
    assert [(c.id, c.name, c.prefix) for c in found] == [("j-1", "b-1", "b-"), ("j-2", "b-2", "b-")]


# --- transient failures botocore does not retry ---------------------------------------------------


def answer(code: str, *reasons: str) -> dict:
    """A failed call's answer as botocore parses it; `reasons`: a cancelled transaction's."""
    parsed = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {}}
    if reasons:
        parsed["CancellationReasons"] = [{"Code": r} for r in reasons]
    return parsed


# answer -> whether it is tried again
TRANSIENT = {
    "a transaction's conflict": (
        answer("TransactionCanceledException", "None", "TransactionConflict"),
        True,
    ),
    "a transaction cancelled for a throttle, not a conflict": (
        answer("TransactionCanceledException", "ThrottlingError"),
        False,
    ),
    "a condition failed beside a conflict": (
        answer("TransactionCanceledException", "ConditionalCheckFailed", "TransactionConflict"),
        False,
    ),
    "a cancelled transaction without reasons": (answer("TransactionCanceledException"), False),
    "a write that met a transaction": (answer("TransactionConflictException"), True),
    "a concurrent update": (answer("ConcurrentUpdateException"), True),
    "a throttle: botocore's own": (answer("ThrottlingException"), False),
    "a validation error": (answer("ValidationException"), False),
    "no error": ({"ResponseMetadata": {}}, False),
}


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_a_transient_failure_botocore_leaves_is_tried_again_up_to_the_tries_of_a_call(name):
    parsed, again = TRANSIENT[name]
    for attempts in range(1, TRIES):
        wait = retry_transient(attempts=attempts, response=(None, parsed))
        assert (wait is not None) is again
    assert retry_transient(attempts=TRIES, response=(None, parsed)) is None, "the last try"
    assert retry_transient(attempts=1, response=None, caught_exception=OSError()) is None


def test_the_waits_double_each_try_and_stay_within_a_hung_call_s_second_of_backoff():
    lowest = [backoff(attempt, rng=lambda: 0.0) for attempt in range(1, TRIES)]
    highest = [backoff(attempt, rng=lambda: 1.0) for attempt in range(1, TRIES)]
    assert lowest[0] == TRANSIENT_WAIT_SECONDS / 2 and highest[0] == TRANSIENT_WAIT_SECONDS
    assert highest[1] == 2 * highest[0] and lowest[1] == 2 * lowest[0]
    assert sum(highest) <= HUNG_CALL_SECONDS - TRIES * READ_SECONDS


@pytest.mark.parametrize(
    "parsed, remedy",
    [
        (answer("ConcurrentUpdateException"), "find what else changes the target's scaling"),
        (answer("TransactionConflictException"), "find what else writes the pause record's items"),
        (
            answer("TransactionCanceledException", "TransactionConflict"),
            "find what else writes the pause record's items",
        ),
    ],
)
def test_a_transient_failure_that_outlasted_its_tries_says_what_to_do(parsed, remedy):
    error = aws_error("Operation", ClientError(parsed, "Operation"))
    code = parsed["Error"]["Code"]
    assert str(error).startswith(f"Operation failed: {code}: m (")
    assert f"; tried {TRIES} times): the next run tries again; should every run fail so, " in str(
        error
    )
    assert remedy in str(error)


def test_a_failure_that_is_not_transient_says_nothing_more():
    parsed = answer("TransactionCanceledException", "ConditionalCheckFailed")
    assert str(aws_error("TransactWriteItems", ClientError(parsed, "TransactWriteItems"))) == (
        "TransactWriteItems failed: TransactionCanceledException: m"
    )
