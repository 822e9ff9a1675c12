"""The agent (`fleetprint.agent`): reports one machine's inventory and usage to the broker.

Data flows down the page: `platform/` reads the machine behind one interface (a private module
per OS; Linux's readers are the files of `sources/`), `power/` reads the measured power sources
(one module each, registered, each with its `[power.<name>]` config section); `inventory` and
`sampler` (with `service_cpu` and the process rules of `services`) make the messages; `buffer`
queues samples on disk, `forwarder` and `publisher` send them over MQTT, `state` numbers the
reports; `runner` and `ticker` run it all; `config`, `cli` and `doctor` face the operator.
The agent never imports the collector's dependencies.
"""
