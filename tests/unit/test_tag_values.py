"""What the targets read back from the tags they leave on AWS: the saved desired count
(targets/ecs.py) and the saved suspension flags of a scalable target (targets/scalable.py). A tag
is input like any other: what cannot be understood is None, never a guess."""

from __future__ import annotations

import itertools

import pytest

from autoscaler_pauser.model import MAX_DESIRED_COUNT, SCALING, SUSPENDED, Suspension
from autoscaler_pauser.targets.ecs_keys import count_from_tag
from autoscaler_pauser.targets.scalable import format_flags, parse_flags

# tag value -> the desired count it holds
COUNTS = {
    "3": 3,
    "1": 1,
    "03": 3,
    str(MAX_DESIRED_COUNT): MAX_DESIRED_COUNT,
}

# tag value that is no desired count (a tag someone edited, or another tool's)
NOT_COUNTS = [
    "",
    "0",  # paused is 0: a resume to 0 would be no resume
    "00",
    "-3",
    "+3",
    "3.0",
    "3e2",
    "three",
    " 3",
    "3 ",
    "3\n",
    "³",  # str.isdigit() takes it, int() does not
    "٣",  # an Arabic-Indic three: int() takes it
    "３",  # a fullwidth three: int() takes it too
    str(MAX_DESIRED_COUNT + 1),  # more than ECS takes
    "99999999999999999999",
    "12345678901",  # eleven digits
    "1_000",  # int() takes it
]


@pytest.mark.parametrize("text, count", COUNTS.items())
def test_a_saved_count_tag_of_ascii_digits_within_ecs_s_range_is_that_count(text, count):
    assert count_from_tag(text) == count


@pytest.mark.parametrize("text", NOT_COUNTS)
def test_a_saved_count_tag_that_is_no_count_from_1_to_ecs_s_most_is_none(text):
    assert count_from_tag(text) is None


ALL_FLAGS = [Suspension(*flags) for flags in itertools.product((False, True), repeat=3)]


def test_saved_flags_are_written_in_order_in_words():
    assert format_flags(SUSPENDED) == "in=true out=true scheduled=true"
    assert format_flags(SCALING) == "in=false out=false scheduled=false"
    assert format_flags(Suspension(True, False, True)) == "in=true out=false scheduled=true"


@pytest.mark.parametrize("flags", ALL_FLAGS, ids=format_flags)
def test_saved_flags_read_back_as_written(flags):
    assert parse_flags(format_flags(flags)) == flags


# tag value -> the flags it holds (not as the tool writes it, but still the three flags)
FLAGS_READ = {
    "scheduled=false in=true out=false": Suspension(True, False, False),
    "  in=false\tout=true   scheduled=false ": Suspension(False, True, False),
}


@pytest.mark.parametrize("text, flags", FLAGS_READ.items())
def test_saved_flags_in_any_order_and_spacing_are_read(text, flags):
    assert parse_flags(text) == flags


# tag value that is not the three flags
NOT_FLAGS = [
    "",
    "in=true out=true",  # one missing
    "in=true out=true scheduled",  # no value
    "in=true out=true scheduled=",  # an empty value
    "in=true out=true scheduled=true extra=true",  # one too many
    "in=true out=true schedule=true",  # misspelt
    "in=yes out=true scheduled=true",  # true or false only
    "in=True out=true scheduled=true",  # lower case only
    "in=1 out=0 scheduled=0",
    "in=true=false out=true scheduled=true",
    "in:true out:true scheduled:true",
    "true true true",
]


@pytest.mark.parametrize("text", NOT_FLAGS)
def test_a_saved_flags_tag_that_is_not_the_three_flags_is_none(text):
    assert parse_flags(text) is None
