"""The wire schema: round trips, and each kind of bad payload rejected with its reason."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import msgspec
import pytest

from fleetprint.schema import (
    MAX_PAYLOAD_BYTES,
    Cpu,
    Inventory,
    PayloadError,
    Report,
    Sample,
    decode_inventory,
    decode_report,
    encode,
    inventory_digest,
)

TS = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
REPORT = Report(host_id="web-01", seq=7, samples=[Sample(ts=TS, interval_s=30, cpu_util_pct=12.5, net_rx_bytes=10)])
INVENTORY = Inventory(host_id="web-01", taken_at=TS, kind="server", ram_gb=64, cpu=Cpu(model="Xeon", sockets=2))


def test_round_trip() -> None:
    assert decode_report(encode(REPORT)) == REPORT
    assert decode_inventory(encode(INVENTORY)) == INVENTORY


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
    (mutated(schema="fleetprint.report/2"), "wrong_schema"),
    (encode(INVENTORY), "wrong_schema"),
    (mutated(host_id="bad host"), "invalid"),
    (mutated(host_id="x" * 65), "invalid"),
    (mutated(host_id="web-01\n"), "invalid"),  # patterns match the whole text, not up to a last newline
    (mutated(sample_services={"web\n": 0.5}), "invalid"),
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
