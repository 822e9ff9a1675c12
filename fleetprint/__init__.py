"""fleetprint: energy and carbon footprint of an IT fleet, service by service."""
from importlib.metadata import version

__version__ = version("fleetprint")  # set at build time from the git tag (pyproject.toml)
