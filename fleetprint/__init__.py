"""fleetprint: energy and carbon footprint of an IT fleet, service by service."""
__version__ = "0.1.0"
