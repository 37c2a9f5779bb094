"""Workloads: the marketplace fixture (data + weighted query templates) and the replay engine."""
