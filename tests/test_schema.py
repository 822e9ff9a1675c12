"""The wire schema: round trips, and each kind of bad payload rejected with its reason."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import msgspec
import pytest

from fleetprint.schema import (
    MAX_PAYLOAD_BYTES,
    REPORT_SCHEMA,
    REPORT_SCHEMA_V1,
    Cpu,
    Inventory,
    Monitor,
    PayloadError,
    Report,
    ReportV1,
    Sample,
    decode_inventory,
    decode_report,
    encode,
    encode_report,
    inventory_digest,
)

TS = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
REPORT = Report(host_id="web-01", seq=7, samples=[Sample(ts=TS, interval_s=30, cpu_util_pct=12.5, net_rx_bytes=10)])
INVENTORY = Inventory(host_id="web-01", taken_at=TS, kind="server", ram_gb=64, cpu=Cpu(model="Xeon", sockets=2))


def test_round_trip() -> None:
    assert decode_report(encode(REPORT)) == REPORT
    assert decode_inventory(encode(INVENTORY)) == INVENTORY


def test_inventory_with_monitors() -> None:
    inventory = msgspec.structs.replace(INVENTORY, kind="desktop", monitors=[
        Monitor(maker="DEL", model="DELL P2419H", serial="CFV9N97G0YPL", diagonal_in=23.8, year=2019),
        Monitor(maker="SAM", builtin=True)])
    assert decode_inventory(encode(inventory)).monitors == inventory.monitors
    body = json.loads(encode(inventory))
    assert "monitors" not in json.loads(encode(INVENTORY)), "no monitors, no field: earlier collectors read it"
    for bad in ({"diagonal_in": 0}, {"year": 1970}, {"maker": "DEL", "size_cm": 60}):
        body["monitors"] = [bad]
        with pytest.raises(PayloadError) as caught:
            decode_inventory(json.dumps(body).encode())
        assert caught.value.reason == "invalid", bad


def mutated(**changes) -> bytes:
    body = json.loads(encode(REPORT))
    for key, value in changes.items():
        if key.startswith("sample_"):
            body["samples"][0][key[len("sample_"):]] = value
        else:
            body[key] = value
    return json.dumps(body).encode()


@pytest.mark.parametrize("payload,reason", [
    (b"{not json", "malformed"),
    (b"", "malformed"),
    (mutated(schema="fleetprint.report/3"), "wrong_schema"),
    (encode(INVENTORY), "wrong_schema"),
    (mutated(host_id="bad host"), "invalid"),
    (mutated(host_id="x" * 65), "invalid"),
    (mutated(host_id="web-01\n"), "invalid"),  # patterns match the whole text, not up to a last newline
    (mutated(sample_cpu_shares={"web\n": 0.5}), "invalid"),
    (mutated(sample_cpu_shares={"web": 1.5}), "invalid"),
    (mutated(sample_services={"web": 0.5}), "invalid"),  # schema 1's name in a schema 2 report
    (mutated(seq=-1), "invalid"),
    (mutated(samples=[]), "invalid"),
    (mutated(sample_cpu_util_pct=100.5), "invalid"),
    (mutated(sample_interval_s=0), "invalid"),
    (mutated(sample_ts="2026-11-02T12:00:00"), "invalid"),
    (mutated(sample_power_w={"rapl": 1e10}), "invalid"),
    (mutated(sample_power_w={"rapl": -1.0}), "invalid"),
    (mutated(sample_unknown=1), "invalid"),
    (b'{"x": "' + b"a" * MAX_PAYLOAD_BYTES + b'"}', "oversize"),
])
def test_bad_payloads_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode_report(payload)
    assert caught.value.reason == reason


def test_missing_schema_field_is_rejected() -> None:
    body = json.loads(encode(REPORT))
    del body["schema"]
    with pytest.raises(PayloadError) as caught:
        decode_report(json.dumps(body).encode())
    assert caught.value.reason == "wrong_schema"


def test_timestamps_keep_their_instant_in_utc() -> None:
    decoded = decode_report(mutated(sample_ts="2026-11-02T14:00:00+02:00"))
    assert decoded.samples[0].ts == TS


def test_inventory_digest_ignores_time_only() -> None:
    later = msgspec.structs.replace(INVENTORY, taken_at=datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert inventory_digest(later) == inventory_digest(INVENTORY)
    assert inventory_digest(msgspec.structs.replace(INVENTORY, ram_gb=128)) != inventory_digest(INVENTORY)


@pytest.mark.parametrize("zone", ["FRA\n", "fra", "FRAN"])
def test_an_inventory_zone_is_three_capitals_and_nothing_else(zone: str) -> None:
    body = json.loads(encode(INVENTORY))
    body["zone"] = zone
    with pytest.raises(PayloadError) as caught:
        decode_inventory(json.dumps(body).encode())
    assert caught.value.reason == "invalid"


# Report schema 2 names a sample's CPU shares `cpu_shares`; schema 1 named them `services`.
# Collectors are upgraded before agents: a new collector reads both; a new agent sends schema 2
# only when a sample carries CPU shares, else schema 1, which collectors of earlier releases read.
# What an earlier release's collector decodes is schema 1 alone: ReportV1 (strict, as it was).
EARLIER_COLLECTOR = msgspec.json.Decoder(ReportV1 | Inventory)
SHARES = {"web": 0.25, "db": 0.125}


def test_an_earlier_agents_report_is_read_with_its_cpu_shares() -> None:
    body = json.loads(encode(REPORT))
    body["schema"] = REPORT_SCHEMA_V1
    body["samples"][0]["services"] = SHARES
    report = decode_report(json.dumps(body).encode())
    assert isinstance(report, Report) and report.samples[0].cpu_shares == SHARES
    assert (report.host_id, report.seq, report.samples[0].net_rx_bytes) == ("web-01", 7, 10)
    body["samples"][0]["cpu_shares"] = body["samples"][0].pop("services")
    with pytest.raises(PayloadError) as caught:  # schema 2's name in a schema 1 report
        decode_report(json.dumps(body).encode())
    assert caught.value.reason == "invalid"


def test_a_report_with_cpu_shares_is_sent_as_schema_2() -> None:
    shared = msgspec.structs.replace(REPORT, samples=[
        REPORT.samples[0], msgspec.structs.replace(REPORT.samples[0], cpu_shares=SHARES)])
    payload = encode_report(shared)
    body = json.loads(payload)
    assert body["schema"] == REPORT_SCHEMA and body["samples"][1]["cpu_shares"] == SHARES
    assert decode_report(payload) == shared


def test_a_report_without_cpu_shares_is_sent_as_schema_1_which_earlier_collectors_read() -> None:
    payload = encode_report(REPORT)
    assert json.loads(payload)["schema"] == REPORT_SCHEMA_V1
    earlier = EARLIER_COLLECTOR.decode(payload)
    assert isinstance(earlier, ReportV1) and earlier.samples[0].ts == TS and earlier.samples[0].cpu_shares == {}
    now = decode_report(payload)  # a SampleV1 is a Sample, with the same fields
    assert (now.host_id, now.seq) == (REPORT.host_id, REPORT.seq)
    assert [msgspec.structs.asdict(s) for s in now.samples] == [msgspec.structs.asdict(s) for s in REPORT.samples]


def test_an_earlier_collector_refuses_schema_2_so_agents_with_process_rules_wait_for_it() -> None:
    with_shares = msgspec.structs.replace(REPORT, samples=[
        msgspec.structs.replace(REPORT.samples[0], cpu_shares=SHARES)])
    with pytest.raises(msgspec.ValidationError, match="schema"):
        EARLIER_COLLECTOR.decode(encode_report(with_shares))
