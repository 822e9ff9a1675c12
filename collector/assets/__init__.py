"""The estate without agents: the asset register's devices, kept by the collector and counted like hosts.

`fleetprint assets import` reads a register (our CSV, or the GLPI Agent / FusionInventory / OCS
Inventory XML and GLPI JSON inventories) into the estate file; the collector's hourly job writes
each device's share of the hour, energy and amortised manufacture, as `fp_host` and `fp_service`
points (docs/assets.md).
"""
