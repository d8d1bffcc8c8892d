import gc

from ringtrail.lib.bounded import Memory, put_bounded


def test_the_oldest_entries_go_beyond_the_bound_and_a_key_set_again_keeps_its_place() -> None:
    remembered: dict[str, int] = {}
    for number, key in enumerate("abcd"):
        put_bounded(remembered, key, number, most=3)
    assert remembered == {"b": 1, "c": 2, "d": 3}
    put_bounded(remembered, "b", 9, most=3)  # updated in place: still the oldest
    put_bounded(remembered, "e", 4, most=3)
    assert remembered == {"c": 2, "d": 3, "e": 4}


def test_a_frozen_memory_stays_out_of_every_collection_however_it_changes() -> None:
    memory: Memory[tuple[int, str], tuple[int, float]] = Memory()
    plain: dict[tuple[int, str], tuple[int, float]] = {}
    gc.freeze()
    try:
        for i in range(1_000):
            put_bounded(memory, (1, f"v{i}"), (i, 1.0), most=500)
            put_bounded(plain, (1, f"v{i}"), (i, 1.0), most=500)
        gc.collect()
        later = -1  # tuples built as the server builds them, not constants
        put_bounded(memory, (1, f"v{later}"), (later, 1.0), most=500)
        put_bounded(plain, (1, f"v{later}"), (later, 1.0), most=500)
        walked = {id(found) for found in gc.get_objects()}
        assert id(memory) not in walked and len(memory) == 500
        assert id(plain) in walked  # a plain dict made before the freeze: tracked anew, walked
    finally:
        gc.unfreeze()
