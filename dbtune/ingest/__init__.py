"""Readers that turn server logs and statistics into dbtune.model.QueryEvent objects."""
