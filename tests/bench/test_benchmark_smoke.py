"""The benchmark's smoke run (`python -m bench --quick`) in CI, so it cannot rot.

It seeds a small dataset, starts `bookings serve` and the raw baseline, and
drives every scenario for a fraction of a second. Times are never asserted
(they depend on the machine); what must hold anywhere is asserted: no errors,
the baseline answers the very same bytes (a booking, which makes rows of its
own: the same shape, and the same rows written), the race books each slot exactly
once with balances and ledger intact, and no scenario runs more SQL
statements than its budget (an N+1 would blow it).
"""

from bench import webhooks as webhooks_bench
from bench.__main__ import Options, run
from bench.compare import compare

# Statements per request, BEGIN and COMMIT/ROLLBACK included, whatever the answer's size.
STATEMENT_BUDGET = {"availability": 7, "credits": 5, "appointments": 7, "report": 9,
                    "bookings": 4}


async def test_quick_benchmark_runs_clean_and_races_book_each_slot_once(postgres_admin_url,
                                                                        tmp_path):
    results = await run(Options.quick_run(output=tmp_path / "quick.json"),
                        database_url=postgres_admin_url)

    for read in results["reads"]:
        assert read["ours"]["requests"] > 0 and read["baseline"]["requests"] > 0, read["name"]
        assert (read["ours"]["errors"], read["baseline"]["errors"]) == (0, 0), read
        assert read["identical_bytes"], f"{read['name']}: the baseline answers other bytes"
    bookings = results["bookings"]
    for server in ("ours", "baseline"):
        assert bookings[server]["requests"] > 0, server
        assert bookings[server]["errors"] == 0, bookings
    assert bookings["ratio"] > 0
    assert bookings["same_shape"], "the baseline's booking answers another shape"
    assert bookings["write_differences"] == [], "the baseline's booking writes other rows"
    race = results["contention"]
    assert race["failures"] == [] and race["unexpected_errors"] == 0, race
    assert race["attempts"] == race["racers"] * race["rounds"]
    assert results["ledger"]["violations"] == []
    for entry in results["reads"] + [results["bookings"]]:
        assert entry["statements"] is not None, entry["name"]
        assert entry["statements"][1] <= STATEMENT_BUDGET[entry["name"]], entry
    assert results["ok"]
    assert (tmp_path / "quick.json").exists()


async def test_compare_measures_each_variant_side_by_side(postgres_admin_url):
    """`python -m bench.compare`: one server per variant, same dataset, same load."""
    results = await compare(["BOOKINGS_FAST_QUERIES=false", ""], ["credits", "bookings"],
                            seconds=0.3, quick=True, database_url=postgres_admin_url)

    assert set(results) == {"credits", "bookings"}
    for name, measured in results.items():
        assert len(measured) == 2, name
        for result in measured:
            assert result["requests"] > 0 and result["errors"] == 0, (name, result)
            assert result["server_cpu_us_per_request"] > 0, (name, result)


async def test_the_webhook_benchmark_delivers_every_event_once(postgres_admin_url, tmp_path):
    """`python -m bench.webhooks`, small: two worker processes and a receiver; it fails
    itself if an event is lost, doubled or does not verify."""
    results = await webhooks_bench.run(5, 0.01, postgres_admin_url, tmp_path,
                                       output=tmp_path / "webhooks.json")

    assert results["paced"]["events"] == results["burst"]["events"] == 5
    assert results["paced"]["p50_ms"] > 0
    assert (tmp_path / "webhooks.json").exists()


def test_turns_give_every_server_each_place_in_the_round_equally_often():
    from bench.__main__ import ROUNDS, turns

    order = list(turns(3))
    rounds = [order[start:start + 3] for start in range(0, len(order), 3)]
    assert len(rounds) == ROUNDS and all(sorted(r) == [0, 1, 2] for r in rounds)
    firsts = [r[0] for r in rounds]
    assert firsts.count(0) == firsts.count(2) == ROUNDS // 2
