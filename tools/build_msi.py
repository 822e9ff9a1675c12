"""Build the agent's Windows installer, fleetprint-agent-<version>.msi, with wixl (msitools).

    python tools/build_msi.py --wheel dist/fleetprint-0.2.0-py3-none-any.whl --out dist

scripts/build-installers runs it on the release wheel. What the MSI holds and does
(docs/operations.md, "Windows workstations and servers"):
- the official embeddable CPython with the agent's win_amd64 wheels (tools/windows_runtime.py)
  and the fleetprint wheel, in %ProgramFiles%\\fleetprint-agent: nothing needs to be installed first;
- the service fleetprint-agent (LocalSystem, automatic start): `python.exe -B -m fleetprint agent
  service -c %ProgramData%\\fleetprint\\agent.toml` (agent/platform/windows_service.py);
- a deferred custom action, after the service is registered and before it starts, running
  `fleetprint agent configure` from the MSI's properties BROKER, CA_FILE, SECRET_FILE, SITE, ZONE,
  DEPARTMENT (and HOST_ID): it writes agent.toml, copies the CA and the password beside it, and
  sets the service's restart on failure (wixl has no ServiceConfig). Without BROKER an existing
  agent.toml is kept (an upgrade); a first install without it fails and rolls back;
- MajorUpgrade, the older release removed first (remove_older_first): a newer MSI replaces the
  program; %ProgramData%\\fleetprint (config, queue) is
  never the MSI's, so upgrades and uninstalls keep it.
`-B`: no __pycache__ under Program Files, which the uninstall would leave behind.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from windows_runtime import WINE_ONLY, windows_runtime  # noqa: E402

# Never change: Windows Installer knows the product's versions by it (MajorUpgrade).
UPGRADE_CODE = "6b1f3d0e-5a2c-4f6e-9d1a-7c3b2e8f4a10"
SERVICE_NAME = "fleetprint-agent"
PROPERTIES = ("BROKER", "CA_FILE", "SECRET_FILE", "SITE", "ZONE", "DEPARTMENT", "HOST_ID")
_CONFIG = r"[CommonAppDataFolder]fleetprint\agent.toml"
SERVICE_ARGUMENTS = f'-B -m fleetprint agent service -c "{_CONFIG}"'


def msi_version(version: str) -> str:
    """Windows Installer's a.b.c[.d] from a Python version: 0.2.1.dev5+gabc -> 0.2.1.5."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\.dev(\d+))?", version)
    if not match:
        raise ValueError(f"{version}: not a release version")
    major, minor, patch, dev = match.groups()
    return ".".join(part for part in (major, minor, patch or "0", dev) if part is not None)


def _id(kind: str, relative: str) -> str:
    """A stable MSI identifier (72 characters at most) for a path."""
    return f"{kind}_{hashlib.sha1(relative.encode()).hexdigest()[:32]}"


def _guid(relative: str) -> str:
    """A component's GUID, stable across builds for the same path (the component rules)."""
    return str(uuid.uuid5(uuid.UUID(UPGRADE_CODE), relative)).upper()


def stage(wheel: Path, into: Path) -> Path:
    """The files to install: the runtime and the fleetprint wheel, unzipped into its site-packages."""
    shutil.copytree(windows_runtime(), into, ignore=shutil.ignore_patterns("__pycache__"))
    for relative in WINE_ONLY:
        (into / relative).unlink(missing_ok=True)
    zipfile.ZipFile(wheel).extractall(into / "Lib" / "site-packages")
    return into


# The deferred action's command, in parts: a custom action's Target holds 255 characters at most, and a
# deferred action sees only what its Target says, so immediate actions first write the options into
# properties (each formatted with the properties' values then).
CONFIGURE_PARTS = {
    "FP_BROKER_ARGS": '--mqtt-host "[BROKER]" --mqtt-ca-file "[CA_FILE]" --mqtt-password-file "[SECRET_FILE]"',
    "FP_HOST_ARGS": '--site "[SITE]" --zone "[ZONE]" --department "[DEPARTMENT]" --host-id "[HOST_ID]"',
}
CONFIGURE_COMMAND = (f'-B -m fleetprint agent configure -o "{_CONFIG}" --windows-service {SERVICE_NAME} '
                     + " ".join(f"[{part}]" for part in CONFIGURE_PARTS))


def wxs(staged: Path, version: str) -> str:
    """The WiX source (the subset wixl reads) for the staged files."""
    components: list[str] = []

    def directory(folder: Path, depth: int) -> list[str]:
        lines = []
        pad = "  " * depth
        for path in sorted(folder.iterdir()):
            relative = path.relative_to(staged).as_posix()
            if path.is_dir():
                lines.append(f"{pad}<Directory Id={quoteattr(_id('d', relative))} Name={quoteattr(path.name)}>")
                lines += directory(path, depth + 1)
                lines.append(f"{pad}</Directory>")
                continue
            component = _id("c", relative)
            components.append(component)
            file_id = "python_exe" if relative == "python.exe" else _id("f", relative)
            lines.append(f"{pad}<Component Id={quoteattr(component)} Guid={quoteattr(_guid(relative))} Win64='yes'>")
            lines.append(f"{pad}  <File Id={quoteattr(file_id)} Name={quoteattr(path.name)} "
                         f"Source={quoteattr(relative)} KeyPath='yes'/>")  # wixl runs in `staged`
            if relative == "python.exe":
                lines += [
                    f"{pad}  <ServiceInstall Id='AgentService' Name='{SERVICE_NAME}' DisplayName='fleetprint agent'"
                    " Description='Reports this machine&apos;s inventory and usage to the fleetprint broker.'"
                    " Type='ownProcess' Start='auto' ErrorControl='normal' Account='LocalSystem'"
                    f" Arguments={quoteattr(SERVICE_ARGUMENTS)}/>",
                    f"{pad}  <ServiceControl Id='AgentServiceControl' Name='{SERVICE_NAME}' Start='install'"
                    " Stop='both' Remove='uninstall' Wait='yes'/>",
                ]
            lines.append(f"{pad}</Component>")
        return lines

    tree = directory(staged, 4)
    set_parts = "\n".join(f"    <CustomAction Id='Set{part}' Property='{part}' Value={quoteattr(value)}/>"
                          for part, value in CONFIGURE_PARTS.items())
    schedule_parts = "\n".join(
        f"      <Custom Action='Set{part}' Before='InstallInitialize'>NOT REMOVE~=\"ALL\"</Custom>"
        for part in CONFIGURE_PARTS)
    refs = "\n".join(f"      <ComponentRef Id='{component}'/>" for component in components)
    return f"""<?xml version='1.0' encoding='utf-8'?>
<Wix xmlns='http://schemas.microsoft.com/wix/2006/wi'>
  <Product Id='*' Name='fleetprint agent' Language='1033' Version='{msi_version(version)}'
           Manufacturer='fleetprint' UpgradeCode='{UPGRADE_CODE}'>
    <Package InstallerVersion='500' Compressed='yes' InstallScope='perMachine'
             Description='fleetprint agent {version}' Comments='The energy and carbon footprint of an IT fleet.'/>
    <Media Id='1' Cabinet='agent.cab' EmbedCab='yes'/>
    <MajorUpgrade DowngradeErrorMessage='A newer fleetprint agent is already installed.'/>
    <Directory Id='TARGETDIR' Name='SourceDir'>
      <Directory Id='ProgramFiles64Folder'>
        <Directory Id='INSTALLDIR' Name='fleetprint-agent'>
{chr(10).join(tree)}
        </Directory>
      </Directory>
    </Directory>
    <Feature Id='Agent' Title='fleetprint agent' Level='1'>
{refs}
    </Feature>
{set_parts}
    <CustomAction Id='ConfigureAgent' FileKey='python_exe' ExeCommand={quoteattr(CONFIGURE_COMMAND)}
                  Execute='deferred' Impersonate='no' Return='check'/>
    <InstallExecuteSequence>
{schedule_parts}
      <Custom Action='ConfigureAgent' After='InstallServices'>NOT REMOVE~="ALL"</Custom>
    </InstallExecuteSequence>
  </Product>
</Wix>
"""


def secure(msi: Path) -> None:
    """Add the settings to SecureCustomProperties, so that a managed install (GPO, SCCM, Intune) passes
    them to the install's server side. wixl writes the property for MajorUpgrade's own and has no
    Secure attribute: this edits its row."""
    rows = subprocess.run(["msiinfo", "export", str(msi), "Property"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    current = next((row.split("\t", 1)[1] for row in rows if row.startswith("SecureCustomProperties\t")), "")
    value = ";".join([*filter(None, current.split(";")), *PROPERTIES])
    query = (f"UPDATE `Property` SET `Value` = '{value}' WHERE `Property` = 'SecureCustomProperties'" if current
             else f"INSERT INTO `Property` (`Property`, `Value`) VALUES ('SecureCustomProperties', '{value}')")
    subprocess.run(["msibuild", str(msi), "-q", query], check=True, capture_output=True)


def remove_older_first(msi: Path) -> None:
    """Schedule RemoveExistingProducts right after InstallValidate (WiX's default, afterInstallValidate,
    which wixl does not follow): the older release is uninstalled, its service stopped and deleted, before
    this one installs and starts its own. After InstallServices, where wixl puts it, the new service
    could be started while the old one was still stopping."""
    query = "UPDATE `InstallExecuteSequence` SET `Sequence` = 1401 WHERE `Action` = 'RemoveExistingProducts'"
    subprocess.run(["msibuild", str(msi), "-q", query], check=True, capture_output=True)


def build(wheel: Path, out: Path) -> Path:
    """dist/fleetprint-agent-<version>.msi from the wheel; its path."""
    if shutil.which("wixl") is None:
        raise SystemExit("wixl not found: apt-get install wixl (or scripts/setup dev)")
    version = wheel.name.split("-")[1]
    out.mkdir(parents=True, exist_ok=True)
    msi = out / f"fleetprint-agent-{version}.msi"
    with tempfile.TemporaryDirectory(prefix="fleetprint-msi-") as work:
        staged = stage(wheel, Path(work) / "agent")
        source = Path(work) / "fleetprint-agent.wxs"
        source.write_text(wxs(staged, version), encoding="utf-8")
        partial = msi.with_name(msi.name + ".partial")
        result = subprocess.run(["wixl", "-a", "x64", "-o", str(partial.resolve()), str(source)],
                                cwd=staged, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"wixl failed:\n{result.stdout}{result.stderr}")
        secure(partial)
        remove_older_first(partial)
        partial.replace(msi)
    return msi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True, help="the fleetprint wheel (scripts/release)")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="where the MSI goes (default: dist)")
    args = parser.parse_args()
    print(build(args.wheel, args.out))


if __name__ == "__main__":
    main()
