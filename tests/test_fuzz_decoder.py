"""Property-based fuzzing of the wire decoder and of the collector's ingest: whatever arrives,
the result is a message or a PayloadError with a known reason, never a crash."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import AwaitingInventory, Ingest
from fleetprint.collector.settings import AttributionSettings
from fleetprint.collector.stats import Counters
from fleetprint.mqtt import Topics
from fleetprint.schema import Cpu, Inventory, PayloadError, Report, Sample, decode_inventory, decode_report, encode

REASONS = {"oversize", "malformed", "wrong_schema", "invalid"}
TS = datetime(2026, 11, 2, tzinfo=timezone.utc)
VALID = json.loads(encode(Report(host_id="fuzz", seq=1, samples=[Sample(ts=TS, interval_s=30, cpu_util_pct=5.0)])))
VALID_V1 = {**VALID, "schema": "fleetprint.report/1"}  # as agents of earlier releases send it

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def decodes_or_says_why(payload: bytes) -> None:
    for decode in (decode_report, decode_inventory):
        try:
            decode(payload)
        except PayloadError as exc:
            assert exc.reason in REASONS


@given(st.binary(max_size=2048))
def test_arbitrary_bytes(payload: bytes) -> None:
    decodes_or_says_why(payload)


@given(json_values)
def test_arbitrary_json(value) -> None:
    decodes_or_says_why(json.dumps(value).encode())


@given(st.sampled_from([VALID, VALID_V1]), st.sampled_from(["schema", "host_id", "seq", "samples",
                                                             "dropped_samples", "extra"]), json_values)
def test_a_valid_report_with_one_field_replaced(valid: dict, field: str, value) -> None:
    decodes_or_says_why(json.dumps({**valid, field: value}).encode())


@given(st.sampled_from([VALID, VALID_V1]),
       st.sampled_from(sorted(VALID["samples"][0]) + ["power_w", "cpu_shares", "services", "mem_used_bytes"]),
       json_values)
def test_a_valid_sample_with_one_field_replaced(valid: dict, field: str, value) -> None:
    body = {**valid, "samples": [{**valid["samples"][0], field: value}]}
    decodes_or_says_why(json.dumps(body).encode())


def test_deep_nesting_is_refused_not_a_crash() -> None:
    decodes_or_says_why(b"[" * 100_000 + b"]" * 100_000)
    decodes_or_says_why(b'{"samples": ' + b"[" * 50_000)


_hosts = HostRegistry(CollectorConfig())
_hosts.update(Inventory(host_id="fuzz", taken_at=TS, kind="server", ram_gb=32,
                        cpu=Cpu(model="Intel Xeon Gold 6130", sockets=1, cores=16, threads=32)))
_ingest = Ingest(_hosts, Topics(), Counters(), Assessor(AttributionSettings(), {}, GridFactors({}, {}, None)),
                 clock=lambda: TS.timestamp())


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["fleetprint/v1/hosts/fuzz/report", "fleetprint/v1/hosts/fuzz/inventory",
                        "fleetprint/v1/hosts/other/report", "fleetprint/v1/x"]),
       st.one_of(st.binary(max_size=512), json_values.map(lambda v: json.dumps(v).encode()),
                 st.tuples(st.sampled_from([VALID, VALID_V1]),
                           st.sampled_from(sorted(VALID["samples"][0]) + ["cpu_shares", "services"]), json_values).map(
                     lambda vfv: json.dumps({**vfv[0], "samples": [{**vfv[0]["samples"][0],
                                                                    vfv[1]: vfv[2]}]}).encode())))
def test_ingest_never_raises(topic: str, payload: bytes) -> None:
    try:
        lines = _ingest.handle(topic, payload)
    except AwaitingInventory:
        assert "/other/" in topic
        return
    for point in lines:
        assert "\n" not in point and point.startswith(("fp_host,", "fp_service,", "fp_inventory,"))
