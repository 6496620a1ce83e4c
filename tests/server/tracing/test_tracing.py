"""The pieces of tracing: the journaled traceparent, the settings, sampling
that follows the parent, and the core's spans from its own timestamps."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from matching import NewOrder, OrderType, Side
from server.config import ConfigError, load
from server.journal.codec import CodecError, Origin, decode_with_origin, encode
from server.model.sequenced import Sequenced
from server.tracing.core_spans import SPAN_NAME, CoreSpans
from server.tracing.propagation import (
    context_of,
    injected,
    metadata_carrier,
    parent_of_journaled,
    sampled_traceparent,
)
from server.tracing.provider import Tracing, start_tracing
from server.tracing.settings import TracingSettings

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
TRACEPARENT = f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01"


def _order(timestamp: int) -> NewOrder:
    return NewOrder(timestamp, "A1", "ACME", Side.BUY, OrderType.LIMIT, 10, 100)


def _tracing(ratio: float = 1.0) -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return Tracing(TracingSettings("http://collector:4317", ratio), "core", exporter), exporter


def test_a_traceparent_is_journaled_with_the_origin_and_only_when_there_is_one() -> None:
    command = _order(1)
    plain = Origin("u1", "10.0.0.1", "grpc")
    traced = plain._replace(traceparent=TRACEPARENT)
    assert encode(command, "c1", plain) == encode(command, "c1", traced._replace(traceparent=""))
    assert b"traceparent" not in encode(command, "c1", traced)  # a list item, not a key
    assert decode_with_origin(encode(command, "c1", traced)) == (command, "c1", traced)
    assert decode_with_origin(encode(command, "c1", plain)) == (command, "c1", plain)
    # Without a trace the slot keeps the four items records always had.
    assert orjson.loads(encode(command, "c1", plain))[1] == ["c1", "u1", "10.0.0.1", "grpc"]
    assert orjson.loads(encode(command, "c1", traced))[1][4] == TRACEPARENT


@pytest.mark.parametrize(
    "slot",
    [["c1", "u1", "src"], ["c1", "u1", "src", "grpc", "tp", "extra"], ["c1", "u", "s", "g", 7]],
)
def test_an_origin_slot_of_another_shape_is_refused(slot: list[object]) -> None:
    record = orjson.loads(encode(_order(1), "c1", Origin("u1", "src", "grpc")))
    record[1] = slot
    with pytest.raises(CodecError):
        decode_with_origin(orjson.dumps(record))


def test_tracing_is_off_without_a_collector_and_configured_by_file_and_environment(
    tmp_path: Path,
) -> None:
    assert not load(None, {}).tracing.enabled
    assert start_tracing(TracingSettings(), "core") is None
    config = tmp_path / "stx.toml"
    config.write_text('[tracing]\nendpoint = "http://otel:4317"\nsample_ratio = 0.25\n')
    assert load(config, {}).tracing == TracingSettings("http://otel:4317", 0.25)
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.01",
    }
    assert load(config, environ).tracing == TracingSettings("http://collector:4317", 0.01)
    traces_only = {**environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces:4317"}
    assert load(config, traces_only).tracing.endpoint == "https://traces:4317"
    assert load(config, {"OTEL_TRACES_SAMPLER": "always_off"}).tracing.sample_ratio == 0.0
    assert not load(config, {"OTEL_SDK_DISABLED": "true"}).tracing.enabled


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[tracing]\nsample_ratio = 2\n", {}, "tracing.sample_ratio"),
        ('[tracing]\nendpoint = "otel:4317"\n', {}, "tracing.endpoint"),
        ('[tracing]\ncollector = "x"\n', {}, "unknown keys"),
        ("", {"OTEL_TRACES_SAMPLER": "jaeger_remote"}, "OTEL_TRACES_SAMPLER"),
        (
            "",
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            "OTEL_TRACES_SAMPLER_ARG",
        ),
    ],
)
def test_bad_tracing_settings_are_refused_by_name(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    config = tmp_path / "stx.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(config, environ)


def test_the_trace_context_goes_through_metadata_and_headers() -> None:
    metadata = [("authorization", "Bearer x"), ("traceparent", TRACEPARENT), ("bin", b"\x00")]
    carrier = metadata_carrier(metadata)
    assert carrier == {"traceparent": TRACEPARENT}
    parent = trace.get_current_span(context_of(carrier)).get_span_context()
    assert (parent.trace_id, parent.span_id, parent.is_remote) == (TRACE_ID, SPAN_ID, True)
    assert dict(injected(context_of(carrier))) == {"traceparent": TRACEPARENT}
    assert injected(context_of({"traceparent": "00-not-a-trace-01"})) == []


def test_sampling_follows_the_parent_and_only_sampled_spans_are_journaled() -> None:
    tracing, _ = _tracing(ratio=0.0)
    tracer = tracing.tracer("test")
    assert sampled_traceparent() == ""  # no span at all
    with tracer.start_as_current_span("root"):
        assert sampled_traceparent() == ""  # ratio 0: a trace begun here is dropped
    caller = context_of({"traceparent": TRACEPARENT})
    with tracer.start_as_current_span("child", context=caller) as span:
        # The caller sampled it: recorded and passed on whatever the ratio.
        context = span.get_span_context()
        assert sampled_traceparent() == f"00-{TRACE_ID:032x}-{context.span_id:016x}-01"
    unsampled = SpanContext(TRACE_ID, SPAN_ID, True, TraceFlags(TraceFlags.DEFAULT))
    remote = trace.set_span_in_context(NonRecordingSpan(unsampled))
    with tracer.start_as_current_span("child", context=remote):
        assert sampled_traceparent() == ""
    tracing.shutdown()


def test_the_core_records_a_command_from_its_timestamp_to_its_batch_commit() -> None:
    tracing, exporter = _tracing()
    now = [5_000]
    spans = CoreSpans(tracing.tracer("stx.core"), clock=lambda: now[0])
    first = Sequenced(7, _order(1_000), [], "c7")
    second = Sequenced(9, _order(2_000), [], "c9")
    spans.sequenced(TRACEPARENT, first)
    spans.sequenced(TRACEPARENT, second)
    spans([Sequenced(6, _order(900), []), first, Sequenced(8, _order(1_500), [])])
    tracing.provider.force_flush()
    (recorded,) = exporter.get_finished_spans()
    assert recorded.name == SPAN_NAME
    assert (recorded.start_time, recorded.end_time) == (1_000, 5_000)
    assert recorded.parent is not None
    assert (recorded.context.trace_id, recorded.parent.span_id) == (TRACE_ID, SPAN_ID)
    assert recorded.attributes is not None
    assert recorded.attributes["stx.sequence"] == 7
    assert recorded.attributes["stx.client_order_id"] == "c7"
    now[0] = 6_000
    spans([second])  # the second waits for its own batch
    tracing.provider.force_flush()
    assert [span.end_time for span in exporter.get_finished_spans()] == [5_000, 6_000]
    tracing.shutdown()


@pytest.mark.parametrize(
    "journaled",
    [
        "",
        TRACEPARENT[:-3] + "-00",  # not sampled: a gateway journals none such
        "01" + TRACEPARENT[2:],
        TRACEPARENT.replace("4b", "xx", 1),
        f"00-{0:032x}-{SPAN_ID:016x}-01",
        TRACEPARENT + "-extra",
    ],
)
def test_the_core_makes_no_span_of_a_traceparent_no_gateway_wrote(journaled: str) -> None:
    assert parent_of_journaled(journaled) is None
    tracing, exporter = _tracing()
    spans = CoreSpans(tracing.tracer("stx.core"))
    command = Sequenced(1, _order(1_000), [], "c1")
    spans.sequenced(journaled, command)
    spans([command])
    tracing.provider.force_flush()
    assert exporter.get_finished_spans() == ()
    tracing.shutdown()


def test_a_journaled_traceparent_parses_as_the_propagator_reads_it() -> None:
    mine = parent_of_journaled(TRACEPARENT)
    assert mine is not None
    ours = trace.get_current_span(mine).get_span_context()
    theirs = trace.get_current_span(context_of({"traceparent": TRACEPARENT})).get_span_context()
    assert ours == theirs
