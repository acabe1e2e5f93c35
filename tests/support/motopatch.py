"""Fixes for moto 5.2.5, applied to moto in process and in the moto server the tests start.

- DescribeScalableTargets: moto's NextToken counts from the start of the page, not of the list,
  so once a namespace holds more than two pages of targets (100 at 50 a page) every later page
  answers the second page again with the same token, and botocore's paginator stops with "The
  same next token was received twice". The fix makes the token count from the start of the list,
  as moto itself reads it.
- With IAM enforcement on, moto checks the signature of a request without a body (GET and
  DELETE: EventBridge Scheduler's GetScheduleGroup, GetSchedule, DeleteSchedule) against a body
  it makes up from the query, so every such call is refused with SignatureDoesNotMatch. The fix
  checks it against the empty body that was signed.
- DynamoDB: setting an attribute that an item has already counts both the old value and the
  new one against the item's 400 KB, so an item of 300 KB cannot have that attribute replaced
  by one of 300 KB. DynamoDB counts the item as it is after the write; so does the fix, which
  keeps moto's limit (405,000 bytes) and its refusal of a larger item.
"""

from __future__ import annotations

import json


def fix_scalable_target_pages() -> None:
    from moto.applicationautoscaling import responses

    def describe_scalable_targets(self: responses.ApplicationAutoScalingResponse) -> str:
        self._validate_params()
        targets = self.applicationautoscaling_backend.describe_scalable_targets(
            self._get_param("ServiceNamespace"),
            self._get_param("ResourceIds"),
            self._get_param("ScalableDimension"),
        )
        size = self._get_int_param("MaxResults") or 50
        marker = self._get_param("NextToken")
        start = int(marker) + 1 if marker else 0
        page = targets[start : start + size]
        token = str(start + len(page) - 1) if len(targets) > start + size else None
        found = [responses._build_target(t) for t in page]
        return json.dumps({"ScalableTargets": found, "NextToken": token})

    responses.ApplicationAutoScalingResponse.describe_scalable_targets = describe_scalable_targets


def fix_signature_of_requests_without_body() -> None:
    from botocore.awsrequest import AWSRequest
    from moto.iam.access_control import IAMRequestBase

    def _create_aws_request(self: IAMRequestBase) -> AWSRequest:
        authorization = self._headers["Authorization"]
        signed = self._get_string_between("SignedHeaders=", ",", authorization).split(";")
        headers = self._create_headers_for_aws_request(signed, self._headers)
        request = AWSRequest(self._method, self._path, headers=headers, data=self._body or b"")
        request.context["timestamp"] = headers["X-Amz-Date"]
        return request

    IAMRequestBase._create_aws_request = _create_aws_request


def fix_item_size_of_a_replaced_attribute() -> None:
    from moto.dynamodb.models import dynamo_type

    limited = dynamo_type.LimitedSizeDict
    real_setitem = limited.__setitem__

    def __setitem__(self, key, value) -> None:
        if key not in self:
            real_setitem(self, key, value)
            return
        old = dict.pop(self, key)
        try:
            real_setitem(self, key, value)
        except BaseException:
            dict.__setitem__(self, key, old)
            raise

    limited.__setitem__ = __setitem__


def apply() -> None:
    fix_scalable_target_pages()
    fix_signature_of_requests_without_body()
    fix_item_size_of_a_replaced_attribute()
