"""The guarded commit with further guards: every guard holds and is bumped, or nothing is written."""

from __future__ import annotations

from wagehood.settings import Settings
from wagehood.storage.redis_store import Commit, RedisStore

LIVE, STRATEGY = "wh:{T}:test:live", "wh:{T}:test:strategy"


def _merged(live_ver: str, strategy_ver: str) -> Commit:
    commit = Commit(LIVE, live_ver)
    commit.hset[LIVE] = {"price": "1.5"}
    evaluated = Commit(STRATEGY, strategy_ver)
    evaluated.hset[STRATEGY] = {"last_eval": "60"}
    evaluated.xadd.append(("wh:{T}:test:signals", "*", 100, {"data": "{}"}))
    commit.merge(evaluated)
    return commit


def test_merged_commit_writes_both_steps_and_bumps_both_versions(settings: Settings) -> None:
    store = RedisStore.from_url(settings.redis_url)
    store.client.hset(STRATEGY, mapping={"ver": "4"})

    assert store.commit_many([_merged("0", "4")]) == [True]

    assert store.client.hgetall(LIVE) == {"price": "1.5", "ver": "1"}
    assert store.client.hgetall(STRATEGY) == {"last_eval": "60", "ver": "5"}
    assert store.client.xlen("wh:{T}:test:signals") == 1


def test_merged_commit_whose_second_guard_moved_writes_nothing(settings: Settings) -> None:
    store = RedisStore.from_url(settings.redis_url)
    store.client.hset(STRATEGY, mapping={"ver": "5"})  # another step evaluated meanwhile

    assert store.commit_many([_merged("0", "4")]) == [False]

    assert store.client.hgetall(LIVE) == {}
    assert store.client.hgetall(STRATEGY) == {"ver": "5"}
    assert store.client.exists("wh:{T}:test:signals") == 0


def _script_calls(store: RedisStore) -> dict[str, int]:
    stats = store.client.info("commandstats")
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in SCRIPT_COMMANDS}


SCRIPT_COMMANDS = ("evalsha", "script|exists", "script|load")


def test_a_batch_of_commits_is_one_round_trip_of_evalsha(settings: Settings) -> None:
    store = RedisStore.from_url(settings.redis_url)
    assert store.commit_many([_merged("0", "0")]) == [True]  # the script is loaded
    before = _script_calls(store)

    assert store.commit_many([_merged("1", "1"), _merged("1", "1")]) == [True, False]

    after = _script_calls(store)
    assert {name: after[name] - before[name] for name in SCRIPT_COMMANDS} == {
        "evalsha": 2,
        "script|exists": 0,
        "script|load": 0,
    }


def test_commits_refused_by_an_emptied_script_cache_are_applied_once_it_is_loaded(
    settings: Settings,
) -> None:
    store = RedisStore.from_url(settings.redis_url)
    store.client.script_flush()  # as after a Redis restart

    # The second commit's guard fails once the first has bumped the version: each commit
    # runs exactly once, after the script is loaded again.
    assert store.commit_many([_merged("0", "0"), _merged("0", "0")]) == [True, False]

    assert store.client.hgetall(LIVE) == {"price": "1.5", "ver": "1"}
    assert store.client.hgetall(STRATEGY) == {"last_eval": "60", "ver": "1"}
    assert store.client.xlen("wh:{T}:test:signals") == 1
