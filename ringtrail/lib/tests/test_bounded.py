from ringtrail.lib.bounded import put_bounded


def test_the_oldest_entries_go_beyond_the_bound_and_a_key_set_again_keeps_its_place() -> None:
    remembered: dict[str, int] = {}
    for number, key in enumerate("abcd"):
        put_bounded(remembered, key, number, most=3)
    assert remembered == {"b": 1, "c": 2, "d": 3}
    put_bounded(remembered, "b", 9, most=3)  # updated in place: still the oldest
    put_bounded(remembered, "e", 4, most=3)
    assert remembered == {"c": 2, "d": 3, "e": 4}
