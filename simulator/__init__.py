"""A simulated fleet that publishes through the real broker with the agent's wire code.

`fleet` generates the virtual hosts, `load` their usage over time, `publisher` sends
inventories and reports, `cli` is the `fleetprint simulate` command.
"""
