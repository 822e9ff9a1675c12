"""The MQTT network loop sleeps until traffic or the keepalive: its select() timeouts on a
scripted clock, and a real connection kept alive by its pings alone."""

from __future__ import annotations

import threading

import pytest

from fleetprint.mqtt import MqttSettings, make_client
from fleetprint.mqtt_loop import NetworkLoop, keepalive_timeout_s

from processes import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ClientStandIn:
    """The part of paho's client the loop drives; `loop_misc` pings when the keepalive is due."""

    def __init__(self, clock: FakeClock, keepalive: int) -> None:
        self.clock = clock
        self.keepalive = keepalive
        self.sock = object()
        self.out: list[str] = []
        self.calls: list[str] = []
        self.last_out = self.last_in = clock.now
        self.on_socket_register_write = None
        self.on_connect_fail = None

    def socket(self):
        return self.sock

    def want_write(self) -> bool:
        return bool(self.out)

    def is_connected(self) -> bool:
        return True

    def queue(self, packet: str) -> None:
        self.out.append(packet)
        self.on_socket_register_write(self, None, self.sock)

    def loop_read(self) -> int:
        self.calls.append("read")
        self.last_in = self.clock.now
        return 0

    def loop_write(self) -> int:
        self.calls.append("write " + ",".join(self.out))
        self.out.clear()
        self.last_out = self.clock.now
        return 0

    def loop_misc(self) -> int:  # paho 2.2's _check_keepalive, in short
        now = self.clock.now
        if now - self.last_out >= self.keepalive or now - self.last_in >= self.keepalive:
            self.queue("PINGREQ")
            self.last_out = self.last_in = now
        return 0


class ScriptedSelect:
    """select() that records its timeout and returns what the test says happened."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.timeouts: list[float | None] = []
        self.script: list[str] = []

    def __call__(self, rlist, wlist, xlist, timeout):
        self.timeouts.append(timeout)
        event = self.script.pop(0)
        sock, wake = rlist
        if event == "timeout":
            self.clock.now += timeout
            return [], [], []
        if event.startswith("read after "):  # bytes from the broker after that many seconds
            self.clock.now += float(event.split()[-1])
            return [sock], [], []
        if event == "writable":
            return [wake], list(wlist), []
        raise AssertionError(event)


@pytest.mark.parametrize("keepalive", [60, 5])
def test_select_sleeps_until_the_keepalive_is_due(keepalive: int) -> None:
    clock = FakeClock()
    client = ClientStandIn(clock, keepalive)
    select = ScriptedSelect(clock)
    loop = NetworkLoop(client, clock=clock, select_fn=select)
    third = keepalive / 3
    select.script = [f"read after {third}", "timeout", "writable", "timeout", "writable"]
    for _ in select.script[:]:
        loop.run_once()
    # the keepalive from the last write (connection), then from the last read; after the ping
    # it counts from the ping, as paho does
    assert select.timeouts == [pytest.approx(keepalive), pytest.approx(keepalive - third),
                               pytest.approx(keepalive), pytest.approx(keepalive), pytest.approx(keepalive)]
    assert client.calls == ["read", "write PINGREQ", "write PINGREQ"]
    assert loop.wakeups == 5


def test_a_publish_from_another_thread_wakes_the_loop_to_write() -> None:
    clock = FakeClock()
    client = ClientStandIn(clock, 60)
    select = ScriptedSelect(clock)
    loop = NetworkLoop(client, clock=clock, select_fn=select)
    client.queue("PUBLISH")  # paho calls on_socket_register_write: a byte on the loop's pair
    select.script = ["writable"]
    loop.run_once()
    assert client.calls == ["write PUBLISH"]
    assert select.timeouts == [pytest.approx(60)]
    with pytest.raises(BlockingIOError):  # the wake-up byte was read: the next select sleeps
        loop._wake_r.recv(1)


def test_no_keepalive_means_no_timeout() -> None:
    assert keepalive_timeout_s(0, 10.0, 20.0, 30.0) == float("inf")
    assert keepalive_timeout_s(60, 10.0, 20.0, 30.0) == 40.0
    assert keepalive_timeout_s(60, 10.0, 20.0, 90.0) == 0.0


def test_an_idle_connection_is_kept_by_pings_alone(mosquitto) -> None:
    """Keepalive 1 s on a real broker: the loop wakes for the pings and their answers, a handful
    of times per keepalive, and the broker (which drops a client silent for 1.5 keepalives)
    keeps the connection."""
    client = make_client(MqttSettings(port=mosquitto.port), "loop-idle")
    pings, drops, connected = [], [], threading.Event()
    client.on_log = lambda c, u, level, text: pings.append(text) if text.startswith("Received PINGRESP") else None
    client.on_connect = lambda *_: connected.set()
    client.on_disconnect = lambda *args: drops.append(args[3])
    client.connect_async("127.0.0.1", mosquitto.port, keepalive=1)
    loop = NetworkLoop(client)
    loop.start()
    try:
        assert connected.wait(5)
        start = loop.wakeups
        wait_until(lambda: len(pings) >= 3, timeout_s=10, what="three ping answers")
        woken = loop.wakeups - start
        dropped = list(drops)
    finally:
        loop.stop()
    assert dropped == [], "the broker kept the connection"
    assert not client.is_connected()
    assert woken <= 3 * 3 + 2, f"{woken} wake-ups for 3 pings"
