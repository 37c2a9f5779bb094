"""`dbtune bench`: replay a workload before and after a change, on one disposable server.

>>> migration = Migration.from_files("up.sql", "down.sql")                  # doctest: +SKIP
>>> result = run_bench(server, spec_workload(marketplace_spec(0.05)), "shop",
...                    migration, rounds=2)                                 # doctest: +SKIP
>>> result.to_dict()["after"]["mean_ms"], result.exit_status                # doctest: +SKIP

Modules: workloads (where statements come from), rounds (interleaved before/after replay),
equivalence (result checksums per class), stats (percentiles, bootstrap ratios), verdict
(``--target``), result, report and html (output), story (the marketplace one-command run).
"""
