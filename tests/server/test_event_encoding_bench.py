from server.bench.event_encoding import measure


def test_the_three_costs_are_measured_on_the_same_flow() -> None:
    figures = measure(2_000)
    assert figures["engine_us"] > 0
    assert figures["encode_events_us"] > 0
    assert figures["decode_command_us"] > 0
    # The seeded flow trades: more than the acceptance per command.
    assert figures["events_per_command"] > 1
    assert figures["event_bytes_per_command"] > figures["command_bytes"] > 0
