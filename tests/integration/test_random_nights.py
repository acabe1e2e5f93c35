"""Random nights of three hosts on one state_table (tests/support/night.py has the events and
what must hold), with fixed seeds, in process: after every night each target has its setting
from before the night, or the one a person set, and no schedule is left."""

from __future__ import annotations

import time

import pytest

from tests.support.clock import Clock
from tests.support.night import Nights, Tally

SEEDS = range(3)
NIGHTS = 2  # a seed's, one after the other in one world
EVENTS = 40  # a night's, before its backups end


@pytest.mark.parametrize("seed", SEEDS)
def test_every_target_ends_each_random_night_as_it_was_before_it(
    world, tmp_path, monkeypatch, seed
):
    tally, began = Tally(), time.monotonic()
    nights = Nights(world, tmp_path, Clock(), seed, monkeypatch, tally)
    for _ in range(NIGHTS):
        nights.night(EVENTS)
    print(
        f"seed {seed}: {tally.nights} nights, {tally.runs} runs, {tally.kills} killed, "
        f"{tally.skipped} skipped, {tally.events} events, {time.monotonic() - began:.1f}s"
    )
    assert tally.kills > 0 and tally.runs > 0
