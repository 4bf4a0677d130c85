"""The Vanthu engine, in layers; a lower layer never imports a higher one (``lint-imports``).

- ``engine.core``: configuration, database and models, workflow definitions, the workspace,
  audit chain, registers, calendar, errors, the agency's log file.
- ``engine.workflow`` | ``engine.signatures``: instances, tasks, actions, inbox, the outbox of
  automated steps | the agency's keys and trust roots, verification reports.
- ``engine.outgoing`` | ``engine.incoming`` | ``engine.archive``: the journeys and the record.
- ``engine.automation``: the steps assembled, Prefect workers and schedules.
- ``engine.http``, ``engine.cli``: the faces.

Nothing is imported here, so importing one module never loads the whole engine.
"""
