"""The simulated fleet's devices without an agent, as an asset register (docs/assets.md's CSV).

Around the workstations of each office site and department: smartphones (one for two people),
tablets (one for ten), monitors on their own (one for five: meeting rooms, spare desks); for
each office site, IT's printers (one for fifteen workstations), access points (one for fifteen)
and switches (one for 24); four switches and a storage array per datacentre. Devices of one kind, site and
department are one row with their quantity, as registers often list them. Figures the makers'
data gives no typical value for (switches, access points, the storage array, printers'
manufacture) are the register's own: made up for the simulation, in the ranges makers' sheets
give. The same seed gives the same register.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable

from fleetprint.simulator.fleet import IT_DEPARTMENT, WORKSTATION_KINDS, VirtualHost

COLUMNS = ("id", "category", "maker", "model", "quantity", "site", "department", "service", "purchase_date",
           "yearly_kwh", "manufacture_gwp_kgco2e", "lifetime_years")
# (category, maker, model, workstations per device, yearly kWh, manufacture kgCO2e, lifetime): "" where the
# category's typical figure applies.
PER_DEPARTMENT = (  # each department's, at each office site
    ("smartphone", "Samsung", "Galaxy A54", 2, "", "", ""),
    ("tablet", "Apple", "iPad 10th generation", 10, "", "", ""),
    ("monitor", "Dell", "P2422H", 5, "", "", ""),
)
PER_OFFICE = (  # shared by the site's departments: IT's
    ("printer", "Lexmark", "MB3442adwe", 15, "", "250", "5"),
    ("access_point", "Cisco", "Meraki MR36", 15, "55", "60", "6"),
    ("network_switch", "Cisco", "Catalyst 9200-24P", 24, "350", "450", "8"),
)
PER_DATACENTRE = (
    ("network_switch", "Cisco", "Nexus 93180YC-FX", 4, "1100", "1300", "7"),
    ("storage_array", "NetApp", "AFF A250", 1, "4200", "3500", "7"),
)


def estate_rows(fleet: Iterable[VirtualHost], purchase_date: str) -> list[dict[str, str]]:
    """The register's rows for `fleet`."""
    hosts = list(fleet)
    workstations = Counter((host.site.name, host.department) for host in hosts if host.kind in WORKSTATION_KINDS
                           and host.site.role == "office")
    datacentres = sorted({host.site.name for host in hosts if host.site.role == "datacentre"})
    rows = []
    for (site, department), count in sorted(workstations.items()):
        for category, maker, model, per, kwh, kg, years in PER_DEPARTMENT:
            rows.append(_row(f"{site}/{department}/{category}", category, maker, model, math.ceil(count / per), site,
                             department, purchase_date, kwh, kg, years))
    per_site: Counter[str] = Counter()
    for (site, _), count in workstations.items():
        per_site[site] += count
    for site, count in sorted(per_site.items()):
        for category, maker, model, per, kwh, kg, years in PER_OFFICE:
            rows.append(_row(f"{site}/{category}", category, maker, model, math.ceil(count / per), site,
                             IT_DEPARTMENT, purchase_date, kwh, kg, years))
    for site in datacentres:
        for category, maker, model, quantity, kwh, kg, years in PER_DATACENTRE:
            rows.append(_row(f"{site}/{category}", category, maker, model, quantity, site, IT_DEPARTMENT,
                             purchase_date, kwh, kg, years))
    return rows


def _row(device_id: str, category: str, maker: str, model: str, quantity: int, site: str, department: str,
         purchase_date: str, kwh: str, kg: str, years: str) -> dict[str, str]:
    return {"id": device_id, "category": category, "maker": maker, "model": model, "quantity": str(quantity),
            "site": site, "department": department, "service": "", "purchase_date": purchase_date,
            "yearly_kwh": kwh, "manufacture_gwp_kgco2e": kg, "lifetime_years": years}


def estate_csv(fleet: Iterable[VirtualHost], purchase_date: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(estate_rows(fleet, purchase_date))
    return out.getvalue()
