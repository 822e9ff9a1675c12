"""The impact models: from a host's inventory and a sample to power, footprint and each service's share.

Once per host inventory, `host_model` asks boaviztapi (through `boavizta`, the one door to it)
and reduces its answers to coefficients: modelled power (`power`, `fitted_power` for servers),
embodied impacts over the lifetime (`embodied`) and the zone's electricity factors (`grid`).
Per sample, and only arithmetic: `ladder` takes the power from the best source the host has,
`grid` the carbon intensity that applies (the site's, an hourly profile from `grid_profile`, a
live provider's from `grid_live`, else Boavizta's), `footprint` the sample's energy and
impacts, `attribution` the split across services; `assess` runs them for one sample. Each takes
its own config section, never the whole config, and nothing here knows how results are stored.
"""
