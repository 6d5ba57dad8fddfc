"""The write side's domain: aggregates, events and rules. No I/O, no clock."""
