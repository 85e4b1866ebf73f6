"""The crash-safety run, short (`python -m bench.faults --seconds 50 --seed 4`): servers and
workers killed mid-work, PostgreSQL stopped with `-m immediate`, a server paused, under
clients retrying with their idempotency keys; every check of the run must hold. The timings
are never asserted; the full run (ten minutes, a random seed) is for people."""

from bench.faults.__main__ import run
from bench.faults.schedule import KINDS, draw

SEED, SECONDS = 4, 50


def test_the_short_schedule_has_each_kind_of_fault():
    assert {fault.kind for fault in draw(SEED, SECONDS)} == set(KINDS)


async def test_a_short_fault_run_loses_nothing_acknowledged(tmp_path, capsys):
    status = await run(SEED, SECONDS, clients=4, work=tmp_path)

    report = capsys.readouterr().out
    assert status == 0, report
    verdicts = [line.split()[0] for line in report.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert verdicts == ["PASS"] * 6, report
    for kind in KINDS:
        assert f"{kind} x" in report, report
