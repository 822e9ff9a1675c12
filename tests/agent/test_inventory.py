"""The agent's inventory, read from recorded host trees (tests/data/hosts/<name>) and from "/"."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path

import msgspec
import pytest

from fleetprint.agent.config import HostFacts
from fleetprint.agent.inventory import collect_inventory, derive_host_id
from fleetprint.agent.platform import Virtualisation
from fleetprint.agent.sources import battery, virt
from fleetprint.agent.sources.battery import has_battery
from fleetprint.agent.sources.block import read_disks
from fleetprint.agent.sources.cpuinfo import read_cpu
from fleetprint.agent.sources.dmi import Dmi, read_dmi
from fleetprint.agent.sources.gpu import read_gpus
from fleetprint.agent.sources.virt import detect_virtualisation
from fleetprint.schema import (
    Cpu,
    Disk,
    Gpu,
    Inventory,
    decode_inventory,
    encode,
    inventory_digest,
)

HOSTS = Path(__file__).resolve().parent.parent / "data" / "hosts"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
AGENT_VERSION = version("fleetprint")  # the installed distribution's, from the git tag


def inventory_of(root: Path, facts: HostFacts | None = None) -> Inventory:
    return collect_inventory(facts or HostFacts(), "test-host", root=root, now=NOW)


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write a small tree under `root`: {relative path: content}."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def copy_host(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(HOSTS / name, tmp_path / name))


# --- Recorded machines ---------------------------------------------------------------


def test_two_socket_rack_server() -> None:
    assert inventory_of(HOSTS / "xeon-rack-server") == Inventory(
        host_id="test-host",
        taken_at=NOW,
        kind="server",
        cpu=Cpu(model="Intel(R) Xeon(R) Silver 4208 CPU @ 2.10GHz", vendor="Intel", sockets=2, cores=16, threads=32),
        ram_gb=377.46,
        vendor="Dell Inc.",
        model="PowerEdge R640",
        # sr0 (the iDRAC's virtual CD), dm-0 (LVM) and loop0 are left out.
        disks=[
            Disk(name="nvme0n1", kind="nvme", size_gb=1600.32),
            Disk(name="sda", kind="hdd", size_gb=2400.48),
            Disk(name="sdb", kind="hdd", size_gb=2400.48),
        ],
        # The 3D controller counts; the BMC's Matrox VGA does not.
        gpus=[Gpu(model="NVIDIA 0x1eb8", vendor="NVIDIA")],
        os="Rocky Linux 9.3 (Blue Onyx), kernel 5.14.0-362.8.1.el9_3.x86_64",
        agent_version=AGENT_VERSION,
    )


def test_laptop() -> None:
    assert inventory_of(HOSTS / "thinkpad-laptop") == Inventory(
        host_id="test-host",
        taken_at=NOW,
        kind="laptop",
        # Hybrid CPU: 4 performance cores with two threads each, 8 efficient cores with one.
        cpu=Cpu(model="12th Gen Intel(R) Core(TM) i7-1260P", vendor="Intel", sockets=1, cores=12, threads=16),
        ram_gb=30.98,
        vendor="LENOVO",
        model="21AH00BNGE",
        # The USB stick (sda, removable), zram0 and the snap loops are left out.
        disks=[Disk(name="nvme0n1", kind="nvme", size_gb=512.11)],
        gpus=[Gpu(model="Intel 0x46a6", vendor="Intel")],
        battery=True,
        os="Fedora Linux 40 (Workstation Edition), kernel 6.8.9-300.fc40.x86_64",
        agent_version=AGENT_VERSION,
    )


def test_kvm_vm() -> None:
    assert inventory_of(HOSTS / "kvm-vm") == Inventory(
        host_id="test-host",
        taken_at=NOW,
        kind="vm",
        # libvirt's default topology: one socket per vCPU.
        cpu=Cpu(model="Intel Xeon Processor (Icelake)", vendor="Intel", sockets=4, cores=4, threads=4),
        ram_gb=7.76,
        vendor="QEMU",
        model="Standard PC (Q35 + ICH9, 2009)",
        # virtio disks say they rotate.
        disks=[Disk(name="vda", kind="hdd", size_gb=42.95), Disk(name="vdb", kind="hdd", size_gb=107.37)],
        gpus=[],  # QEMU's emulated VGA is no GPU
        virtualisation="kvm",
        os="Ubuntu 22.04.4 LTS, kernel 5.15.0-105-generic",
        agent_version=AGENT_VERSION,
    )


def test_arm_board_without_dmi() -> None:
    assert inventory_of(HOSTS / "arm-board") == Inventory(
        host_id="test-host",
        taken_at=NOW,
        kind="server",  # no chassis type, no battery: the default
        cpu=Cpu(model="ARM Cortex-A72", vendor="ARM", sockets=1, cores=4, threads=4),
        ram_gb=3.71,
        model="Raspberry Pi 4 Model B Rev 1.4",  # from the device tree
        disks=[Disk(name="mmcblk0", kind="ssd", size_gb=31.91)],
        os="Debian GNU/Linux 12 (bookworm), kernel 6.6.31+rpt-rpi-v8",
        agent_version=AGENT_VERSION,
    )


@pytest.mark.parametrize("name", sorted(p.name for p in HOSTS.iterdir()))
def test_recorded_inventories_survive_the_wire(name: str) -> None:
    inventory = collect_inventory(HostFacts(), derive_host_id(HOSTS / name), root=HOSTS / name, now=NOW)
    assert decode_inventory(encode(inventory)) == inventory


def test_this_machine() -> None:
    inventory = collect_inventory(HostFacts(), derive_host_id())
    print(encode(inventory).decode())
    assert decode_inventory(encode(inventory)) == inventory
    assert inventory.cpu.threads >= inventory.cpu.cores >= 1
    assert inventory.ram_gb > 0
    assert inventory.agent_version == AGENT_VERSION
    assert inventory.taken_at.tzinfo is not None


def test_operator_facts_are_sent_and_kind_overrides() -> None:
    facts = HostFacts(
        id="db-3",
        site="lyon-dc1",
        zone="FRA",
        kind="desktop",
        purchase_date=date(2021, 6, 1),
        lifetime_years=6.0,
        services={"postgres": 3.0, "backup": 1.0},
    )
    inventory = inventory_of(HOSTS / "xeon-rack-server", facts)
    assert (inventory.kind, inventory.site, inventory.zone) == ("desktop", "lyon-dc1", "FRA")
    assert (inventory.purchase_date, inventory.lifetime_years) == (date(2021, 6, 1), 6.0)
    assert inventory.services == {"postgres": 3.0, "backup": 1.0}
    assert decode_inventory(encode(inventory)) == inventory


# --- Machine kind ---------------------------------------------------------------------


def test_container_on_bare_metal_reports_the_hosts_kind(tmp_path: Path) -> None:
    root = copy_host("xeon-rack-server", tmp_path)
    (root / ".dockerenv").touch()
    inventory = inventory_of(root)
    assert (inventory.kind, inventory.virtualisation) == ("server", "docker")


def test_container_in_a_vm_is_a_vm(tmp_path: Path) -> None:
    root = copy_host("kvm-vm", tmp_path)
    write(root, {"run/.containerenv": ""})
    assert detect_virtualisation(root) == Virtualisation(vm="kvm", container="podman")
    inventory = inventory_of(root)
    assert (inventory.kind, inventory.virtualisation) == ("vm", "podman")


@pytest.mark.parametrize(
    ("chassis", "kind"),
    [
        ("3", "desktop"),
        ("7", "desktop"),  # tower
        ("13", "desktop"),  # all in one
        ("35", "desktop"),  # mini PC
        ("9", "laptop"),
        ("10", "laptop"),  # notebook
        ("14", "laptop"),  # sub notebook
        ("31", "laptop"),  # convertible
        ("32", "laptop"),  # detachable
        ("17", "server"),  # main server chassis
        ("23", "server"),  # rack mount
        ("28", "server"),  # blade
        ("1", None),  # other
        ("2", None),  # unknown
        ("12", None),  # docking station
        ("abc", None),
    ],
)
def test_chassis_type(tmp_path: Path, chassis: str, kind: str | None) -> None:
    write(tmp_path, {"sys/class/dmi/id/chassis_type": chassis + "\n"})
    assert read_dmi(tmp_path).machine_kind == kind


def test_kind_without_chassis_type(tmp_path: Path) -> None:
    assert inventory_of(tmp_path).kind == "server"
    write(tmp_path, {"sys/class/power_supply/BAT0/type": "Battery\n"})
    assert inventory_of(tmp_path).kind == "laptop"


# --- Sources --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "product", "bios_vendor", "name"),
    [
        ("QEMU", "Standard PC (i440FX + PIIX, 1996)", "SeaBIOS", "kvm"),
        ("Red Hat", "KVM", "SeaBIOS", "kvm"),
        ("OpenStack Foundation", "OpenStack Nova", "SeaBIOS", "kvm"),
        ("VMware, Inc.", "VMware7,1", "VMware, Inc.", "vmware"),
        ("innotek GmbH", "VirtualBox", "innotek GmbH", "virtualbox"),
        ("Xen", "HVM domU", "Xen", "xen"),
        ("Microsoft Corporation", "Virtual Machine", "Microsoft Corporation", "hyperv"),
        ("Microsoft Corporation", "Surface Laptop 5", "Microsoft Corporation", ""),
        ("Amazon EC2", "m6i.large", "Amazon EC2", "amazon"),
        ("Amazon EC2", "m6i.metal", "Amazon EC2", ""),
        ("Google", "Google Compute Engine", "Google", "google"),
        ("Dell Inc.", "PowerEdge R640", "Dell Inc.", ""),
    ],
)
def test_dmi_names_the_hypervisor(vendor: str, product: str, bios_vendor: str, name: str) -> None:
    assert Dmi(vendor=vendor, product=product, bios_vendor=bios_vendor).vm_name == name


def test_dmi_placeholders_are_empty(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "sys/class/dmi/id/sys_vendor": "To Be Filled By O.E.M.\n",
            "sys/class/dmi/id/product_name": "Default string\n",
            "sys/class/dmi/id/chassis_type": "3\n",
        },
    )
    assert read_dmi(tmp_path) == Dmi(chassis_type=3)


def test_virtualisation_from_files(tmp_path: Path) -> None:
    assert detect_virtualisation(tmp_path) == Virtualisation()
    write(tmp_path, {"proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n"})
    assert detect_virtualisation(tmp_path).vm == virt.OTHER_VM
    write(tmp_path, {"sys/hypervisor/type": "xen\n"})
    assert detect_virtualisation(tmp_path).vm == "xen"
    write(tmp_path, {"proc/xen/capabilities": "control_d\n"})
    assert detect_virtualisation(tmp_path).vm == ""  # Xen's dom0 is the physical host


@pytest.mark.parametrize(
    ("files", "container"),
    [
        ({"proc/1/cgroup": "12:pids:/docker/3f2a9c\n0::/docker/3f2a9c\n"}, "docker"),
        ({"proc/1/cgroup": "0::/kubepods/burstable/pod1b2c/5d6e\n"}, "kubernetes"),
        ({"proc/1/cgroup": "0::/init.scope\n"}, ""),
        ({"run/systemd/container": "systemd-nspawn\n"}, "systemd-nspawn"),
        ({".dockerenv": ""}, "docker"),
    ],
)
def test_container_detection(tmp_path: Path, files: dict[str, str], container: str) -> None:
    assert detect_virtualisation(write(tmp_path, files)) == Virtualisation(container=container)


def test_systemd_detect_virt_only_refines_the_live_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = write(tmp_path, {"systemd-detect-virt": '#!/bin/sh\n[ "$1" = --vm ] && echo microsoft || echo none\n'})
    (fake / "systemd-detect-virt").chmod(0o755)
    monkeypatch.setattr(virt.shutil, "which", lambda _: str(fake / "systemd-detect-virt"))
    write(tmp_path, {"proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu hypervisor\n"})
    assert detect_virtualisation(tmp_path) == Virtualisation(vm=virt.OTHER_VM)  # a recorded root
    monkeypatch.setattr(virt, "_vm", lambda _: virt.OTHER_VM)
    monkeypatch.setattr(virt, "_container", lambda _: "")
    assert detect_virtualisation(Path("/")) == Virtualisation(vm="hyperv")
    monkeypatch.setattr(virt.shutil, "which", lambda _: None)
    assert detect_virtualisation(Path("/")) == Virtualisation(vm=virt.OTHER_VM)


def test_block_devices(tmp_path: Path) -> None:
    def disk(size: str, rotational: str | None = "0", removable: str = "0") -> dict[str, str]:
        files = {"size": size, "removable": removable}
        if rotational is not None:
            files["queue/rotational"] = rotational
        return files

    devices = {
        "nvme0n1": disk("1000215216"),
        "sda": disk("7814037168", "1"),
        "sdb": disk("1953525168", "0"),
        "xvda": disk("16777216", None),  # no queue/rotational
        "sdc": disk("0", "1"),  # card reader without a card
        "sdd": disk("60437492", "1", removable="1"),  # USB stick
        "sde": disk("not a number", "1"),
        "mmcblk0boot0": disk("8192"),
        "md127": disk("3906764800"),
        "dm-1": disk("3906764800"),
        "nbd0": disk("2097152"),
        "sr0": disk("2097152", "1", removable="1"),
        "loop3": disk("129024"),
        "zram0": disk("16777216"),
        "ram0": disk("8192"),
    }
    write(
        tmp_path,
        {f"sys/block/{name}/{attr}": value for name, attrs in devices.items() for attr, value in attrs.items()},
    )
    assert read_disks(tmp_path) == [
        Disk(name="nvme0n1", kind="nvme", size_gb=512.11),
        Disk(name="sda", kind="hdd", size_gb=4000.79),
        Disk(name="sdb", kind="ssd", size_gb=1000.2),
        Disk(name="xvda", kind="unknown", size_gb=8.59),
    ]


def test_gpu_vendors(tmp_path: Path) -> None:
    devices = {
        "0000:03:00.0": ("0x030000", "0x1002", "0x73BF"),  # AMD, upper-case hex
        "0000:00:02.0": ("0x038000", "0x8086", "0x0d26"),  # "other display controller": not counted
        "0000:07:00.0": ("0x030000", "0x1a03", "0x2000"),  # ASPEED BMC VGA
        "0000:41:00.0": ("0x030200", "0x10de", "0x20b5"),
    }
    write(
        tmp_path,
        {
            f"sys/bus/pci/devices/{address}/{attr}": value + "\n"
            for address, values in devices.items()
            for attr, value in zip(("class", "vendor", "device"), values)
        },
    )
    assert read_gpus(tmp_path) == [
        Gpu(model="AMD 0x73bf", vendor="AMD"),
        Gpu(model="NVIDIA 0x20b5", vendor="NVIDIA"),
    ]


def test_peripheral_batteries_do_not_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(battery.psutil, "sensors_battery", lambda: pytest.fail("psutil asked for a recorded root"))
    assert not has_battery(tmp_path)
    supplies = "sys/class/power_supply"
    mouse = f"{supplies}/hid-c8:2a:dd:11:22:33-battery"
    write(tmp_path, {f"{mouse}/type": "Battery\n", f"{mouse}/scope": "Device\n", f"{supplies}/AC/type": "Mains\n"})
    assert not has_battery(tmp_path)
    write(tmp_path, {f"{supplies}/BAT1/type": "Battery\n", f"{supplies}/BAT1/scope": "System\n"})
    assert has_battery(tmp_path)


@pytest.mark.parametrize(
    ("cpuinfo", "cpu"),
    [
        # No core ids: `cpu cores` times the sockets.
        (
            "".join(f"processor\t: {n}\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7543 32-Core Processor\n"
                    f"physical id\t: {n // 4}\ncpu cores\t: 2\n\n" for n in range(8)),
            Cpu(model="AMD EPYC 7543 32-Core Processor", vendor="AMD", sockets=2, cores=4, threads=8),
        ),
        # ARM, part unknown to the table: the SoC name from `Hardware`.
        (
            "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd81\n\nprocessor\t: 1\nCPU implementer\t: 0x41\n"
            "CPU part\t: 0xd81\n\nHardware\t: Allwinner sun50i\n",
            Cpu(model="Allwinner sun50i", vendor="ARM", sockets=1, cores=2, threads=2),
        ),
        # ARM with nothing to name it.
        (
            "processor\t: 0\nCPU implementer\t: 0x51\nCPU part\t: 0x803\n",
            Cpu(model="Unknown ARM CPU", vendor="Qualcomm", sockets=1, cores=1, threads=1),
        ),
        # Neither layout: counts only.
        ("processor\t: 0\n\nprocessor\t: 1\n", Cpu(model="Unknown CPU", sockets=1, cores=2, threads=2)),
        ("", Cpu(model="Unknown CPU", sockets=1, cores=1, threads=1)),
    ],
)
def test_cpuinfo_fallbacks(tmp_path: Path, cpuinfo: str, cpu: Cpu) -> None:
    assert read_cpu(write(tmp_path, {"proc/cpuinfo": cpuinfo})) == cpu


# --- Degrading cleanly ----------------------------------------------------------------

EMPTY = Inventory(
    host_id="test-host",
    taken_at=NOW,
    kind="server",
    cpu=Cpu(model="Unknown CPU"),
    ram_gb=0.0,
    agent_version=AGENT_VERSION,
)


def test_empty_root(tmp_path: Path) -> None:
    inventory = inventory_of(tmp_path)
    assert inventory == EMPTY
    assert decode_inventory(encode(inventory)) == inventory


def test_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_host("xeon-rack-server", tmp_path)

    def denied(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "read_bytes", denied)  # works when the tests run as root, too
    assert inventory_of(root) == EMPTY


def test_malformed_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "proc/cpuinfo/oops": "a directory where a file should be",
            "proc/meminfo": "MemTotal:       lots kB\n",
            "etc/os-release": b'PRETTY_NAME="Debian \xff GNU/Linux\nNAME=x\n',
            "etc/machine-id": "uninitialized\n",
            "proc/sys/kernel/hostname": "build box/01\n",
            "sys/class/dmi/id/chassis_type": "\n",
            "sys/block/sda/size": "-5\n",
            "sys/bus/pci/devices/0000:01:00.0/class": "0x030000\n",
        },
    )
    inventory = collect_inventory(HostFacts(), derive_host_id(tmp_path), root=tmp_path, now=NOW)
    assert inventory.host_id == "build-box-01"
    assert (inventory.cpu, inventory.ram_gb) == (Cpu(model="Unknown CPU"), 0.0)
    assert (inventory.disks, inventory.gpus) == ([], [])
    assert inventory.os == "Debian \ufffd GNU/Linux"  # unbalanced quote, invalid UTF-8
    assert decode_inventory(encode(inventory)) == inventory


# --- Host id and digest ---------------------------------------------------------------


def test_host_id_from_machine_id() -> None:
    host_id = derive_host_id(HOSTS / "xeon-rack-server")
    assert host_id == derive_host_id(HOSTS / "xeon-rack-server")
    assert len(host_id) == 19 and host_id.startswith("fp-") and int(host_id[3:], 16) >= 0
    assert "5c0e2a9f3b7d4e1c" not in host_id  # the machine id itself is not revealed
    assert host_id != derive_host_id(HOSTS / "thinkpad-laptop")


def test_host_id_from_hostname(tmp_path: Path) -> None:
    assert derive_host_id(HOSTS / "arm-board") == "pi-garage"  # no /etc/machine-id
    write(tmp_path, {"proc/sys/kernel/hostname": "é" * 10 + "x" * 80 + "\n"})
    assert derive_host_id(tmp_path) == "x" * 64
    msgspec.convert({"id": derive_host_id(tmp_path)}, HostFacts)  # a valid host id


def test_no_host_id_at_all(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="host.id"):
        derive_host_id(tmp_path)


def test_digest_ignores_the_time_only() -> None:
    inventory = inventory_of(HOSTS / "thinkpad-laptop")
    later = collect_inventory(HostFacts(), "test-host", HOSTS / "thinkpad-laptop", now=NOW + timedelta(hours=1))
    assert inventory_digest(inventory) == inventory_digest(later)
    assert later.taken_at == NOW + timedelta(hours=1)  # the digest did not touch it
    assert len(inventory_digest(inventory)) == 32
    later.disks = [*later.disks, Disk(name="sda", kind="ssd", size_gb=1000.2)]
    assert inventory_digest(inventory) != inventory_digest(later)
