"""Failures that AWS answers and moto never does, made up on the tool's own clients in place of
moto's answer: a transaction's conflict, a concurrent update, a batch read's unprocessed keys.

They are answered at botocore's `before-send` event, inside botocore's loop of tries, so a call
that is tried again is sent again, and each try is counted (`tries`, by operation name). A call
answered here never reaches moto.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse

from .world import attaching

# What a made-up answer is, from the request's JSON body: its HTTP status and its JSON body.
Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


def error(code: str, message: str, **more: Any) -> Answer:
    """An AWS JSON error answer (HTTP 400), with any modeled members of the error."""
    return lambda request: (400, {"__type": code, "message": message, **more})


TRANSACTION_CONFLICT = error(
    "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
    "Transaction cancelled, please refer cancellation reasons for specific reasons "
    "[TransactionConflict]",
    CancellationReasons=[
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    ],
)
CONFLICT_EXCEPTION = error(
    "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
    "Transaction is ongoing for the item",
)
CONCURRENT_UPDATE = error(
    "ConcurrentUpdateException", "Concurrent update on the same resource is in progress"
)


def unprocessed(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """BatchGetItem with nothing read: every key asked for left unprocessed, as a table whose
    read capacity is spent answers."""
    items = request["RequestItems"]
    return 200, {"Responses": {table: [] for table in items}, "UnprocessedKeys": items}


@dataclass
class Rule:
    operation: str
    answer: Answer
    times: int | None  # the next N tries; None: every one


class Answers:
    """Made-up answers to the operations named, on every client of the tool it is attached to
    (`factory`, around a test's aws_factory, or `attach`)."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.tries: Counter[str] = Counter()  # of each operation, made-up answers included
        self.made: Counter[str] = Counter()  # made-up answers, by operation

    def answer(self, operation: str, answer: Answer, times: int | None = 1) -> None:
        self.rules.append(Rule(operation, answer, times))

    def attach(self, client: Any) -> Any:
        """Answer on this client. botocore calls every handler of `before-send` and takes the
        first answer, so moto in process would act on a call answered here all the same: its
        handler is called only for a call not answered here."""
        from moto.core.models import botocore_stubber  # it answers while mock_aws is on

        events = client.meta.events
        events.unregister("before-send", botocore_stubber)

        def send(request: Any, event_name: str, **kw: Any) -> AWSResponse | None:
            made = self._made_up(request, event_name)
            if made is not None:
                return made
            return botocore_stubber(event_name=event_name, request=request, **kw)

        events.register_first("before-send", send)
        return client

    def factory(self, aws_factory: Callable[..., Any]) -> Callable[..., Any]:
        """An aws_factory for cli.main() whose clients are all attached."""
        return attaching(aws_factory, self.attach)

    def _made_up(self, request: Any, event_name: str) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        self.tries[operation] += 1
        for rule in self.rules:
            if rule.operation == operation and rule.times != 0:
                if rule.times is not None:
                    rule.times -= 1
                self.made[operation] += 1
                status, body = rule.answer(json.loads(request.body or b"{}"))
                headers = {"Content-Type": "application/x-amz-json-1.1"}
                return AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))
        return None


class _Raw:
    """The body of a made-up answer, as botocore reads one."""

    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body
