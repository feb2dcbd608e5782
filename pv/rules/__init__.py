"""pv's rules: one module per family, each registering its Rule records and check functions.

PV0xx load/parse (emitted by pv.loader), PV1xx schema, PV2xx ids, PV3xx references, PV4xx
versioning, PV5xx coverage/executability, PV6xx constraints, PV9xx dialects. The registry API is in
pv.rules.registry; this package imports nothing on purpose (pv.loader imports pv.rules.load early).
"""
