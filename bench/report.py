"""The benchmark's table, printed for docs/performance.md (pasted there by hand)."""


def _statements(entry: dict) -> str:
    found = entry.get("statements")
    if not found:
        return "-"
    return str(found[0]) if found[0] == found[1] else f"{found[0]}-{found[1]}"


def _bookings_row(entry: dict) -> str:
    """The uncontended booking; results from before its baseline (no "baseline") show '-'."""
    ours, base = entry["ours"], entry.get("baseline")
    same = "" if entry.get("same_shape", True) and not entry.get("write_differences") \
        else " (baseline books otherwise!)"
    baseline_rate, ratio, baseline_sql = ("-", "-", "") if base is None else (
        f"{base['rate']:.0f}", f"{entry['ratio']:.2f}", f" ({entry['baseline_statements']})")
    return (
        f"| bookTimeSlot, no contention{same} | {ours['rate']:.0f} | {ours['p50_ms']:.1f} | "
        f"{ours['p99_ms']:.1f} | {ours['errors']} | {baseline_rate} | {ratio} | "
        f"{_statements(entry)}{baseline_sql} | {ours['server_cpu_us_per_request']} |"
    )


def _dataset(results: dict) -> str:
    dataset = results["dataset"]
    return (f"dataset scale {results.get('scale', 1)}: {dataset['organizations']} organizations, "
            f"{dataset['rows']['time_slots']} time slots")


def table(results: dict) -> str:
    """A Markdown table of every scenario, then memory, start-up and the contention check."""
    lines = [
        ("| scenario | req/s | p50 ms | p99 ms | errors | baseline req/s | ratio | SQL/req "
         "(baseline) | server CPU µs/req |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in results["reads"]:
        ours, base = entry["ours"], entry["baseline"]
        same = "" if entry["identical_bytes"] else " (answers differ!)"
        lines.append(
            f"| {entry['name']}{same} | {ours['rate']:.0f} | {ours['p50_ms']:.1f} | "
            f"{ours['p99_ms']:.1f} | {ours['errors']} | {base['rate']:.0f} | "
            f"{entry['ratio']:.2f} | {_statements(entry)} ({entry['baseline_statements']}) | "
            f"{ours['server_cpu_us_per_request']} |"
        )
    lines.append(_bookings_row(results["bookings"]))
    race = results["contention"]
    lines.append(
        f"| bookTimeSlot, {race['racers']} clients race for {race['slots']} slots "
        f"(x{race['rounds']}) | {race['attempts_per_second']:.0f} attempts "
        f"({race['bookings_per_second']:.0f} bookings) | {race['p50_ms']:.1f} | "
        f"{race['p99_ms']:.1f} | {race['unexpected_errors']} | - | - | - | - |"
    )
    rss, startup = results["peak_rss_mb"], results["startup_seconds"]
    verdict = "exactly one booking per slot, balances and ledger verified" if race["ok"] \
        else f"FAILED: {race['failures'][:3]}"
    lines += [
        "",
        (f"Peak server RSS {rss['ours']} MB (baseline {rss['baseline']} MB); start-up to first "
         f"answer {startup['ours']} s (baseline {startup['baseline']} s); "
         f"{results['connections']} connections; {_dataset(results)}; contention: {verdict}; "
         f"load-generator ceiling {results['client_ceiling']['rate']:.0f} req/s."),
    ]
    return "\n".join(lines)


def print_table(results: dict) -> None:
    print()
    print(table(results))
    print()


if __name__ == "__main__":  # `python -m bench.report [results.json]`: the table for docs/performance.md
    import json
    import sys
    from pathlib import Path

    default = Path(__file__).resolve().parent / "results" / "latest.json"
    print(table(json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else default).read_text())))
