"""Sample KeyCliq data: the schema and a deterministic seeder that can plant defects."""
