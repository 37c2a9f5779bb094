"""Shared test setup. The sandbox fixtures come from the dbtune pytest plugin
(dbtune.sandbox.pytest_plugin); this only loads mysql-connector-python's C extension (when
installed) before any test module imports pandas, as the replaying commands do."""

import dbtune.workload.drivers  # noqa: F401
