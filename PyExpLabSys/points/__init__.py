"""The points socket: scripts on a lab PC hand their points to the logging service.

One feature, three rooms: :mod:`.protocol` (the frames and their schema, pure),
:mod:`.client` (the backend a script's logger uses: ``ContinuousLogger(...,
service=path)``), :mod:`.server` (the service's side, feeding its logger) with
:mod:`.identity` (who a client is, and its position in the service's spool).
"""
