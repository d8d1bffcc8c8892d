"""Random ids drawn in blocks: the OS's bytes, never repeated, not across threads, not across a fork."""

from __future__ import annotations

import os
import re
import threading
import time
from unittest import mock

from ringtrail.lib import random_ids


def test_ids_are_url_safe_and_the_length_secrets_gives() -> None:
    tokens = [random_ids.token_urlsafe(12) for _ in range(2000)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", token) for token in tokens)
    assert len(set(tokens)) == len(tokens)


def test_the_os_is_asked_once_a_block_not_once_an_id() -> None:
    blocks: list[bytes] = []
    real = os.urandom

    def urandom(count: int) -> bytes:
        blocks.append(real(count))
        return blocks[-1]

    random_ids._block.data = b""  # this thread starts from an empty block
    with mock.patch("ringtrail.lib.random_ids.os.urandom", side_effect=urandom):
        drawn = b"".join(random_ids.random_bytes(12) for _ in range(1000))
    per_block = random_ids.BLOCK_BYTES // 12
    assert len(blocks) == -(-1000 // per_block)
    # The OS's bytes in order, each used once; a block's tail too short for an id is dropped.
    assert drawn == b"".join(block[: per_block * 12] for block in blocks)[:12_000]


def test_a_request_larger_than_a_block_is_served_whole() -> None:
    assert len(random_ids.random_bytes(random_ids.BLOCK_BYTES * 2 + 1)) == random_ids.BLOCK_BYTES * 2 + 1


def test_threads_draw_from_their_own_blocks() -> None:
    drawn: list[bytes] = []

    def draw() -> None:
        drawn.extend(random_ids.random_bytes(16) for _ in range(500))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == 2000


def test_a_forked_child_never_hands_out_its_parents_next_ids() -> None:
    random_ids.random_bytes(1)  # the parent holds a partly used block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what it draws next goes to the parent
        os.write(write, random_ids.random_bytes(32))
        os._exit(0)
    os.close(write)
    child = os.read(read, 32)
    os.waitpid(pid, 0)
    os.close(read)
    assert child != random_ids.random_bytes(32)


def test_ordered_tokens_sort_by_the_millisecond_they_were_made_then_stay_random() -> None:
    start = 1_795_000_000.0  # 2026-11-18
    moments = [start + step / 1000 for step in range(0, 5000, 7)] + [start + 86_400 * 365 * 30]
    tokens = [random_ids.ordered_token(12, now) for now in moments]
    assert tokens == sorted(tokens)
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{10}[A-Za-z0-9_-]{16}", token) for token in tokens)
    same_moment = {random_ids.ordered_token(12, start) for _ in range(100)}
    assert len(same_moment) == 100
    assert len({token[:10] for token in same_moment}) == 1


def test_an_ordered_token_starts_with_now() -> None:
    before = random_ids.ordered_token(4, time.time())
    token = random_ids.ordered_token(4)
    assert before[:10] <= token[:10] <= random_ids.ordered_token(4, time.time())[:10]


def spelled_out(millis: int) -> str:
    """The time prefix one 5-bit digit at a time, most significant first: what the lookups replace."""
    digits = "0123456789abcdefghjkmnpqrstvwxyz"
    return "".join(digits[(millis >> shift) & 31] for shift in range(45, -5, -5))


def test_the_time_prefix_is_each_5_bit_digit_of_the_millisecond_in_order() -> None:
    edges = [0, 1, 31, 32, 1023, 1024, 2**30 - 1, 2**30, 2**50 - 1, 2**50, 2**55 + 12345]
    drawn = [int.from_bytes(os.urandom(7), "big") for _ in range(2000)]
    for millis in edges + drawn:
        assert random_ids.time_prefix(millis) == spelled_out(millis)
    assert len(random_ids.time_prefix(1_795_000_000_000)) == random_ids.TIME_PREFIX_LENGTH
