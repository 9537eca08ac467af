"""Tests of behest_lab.sources: readers of behest's backends."""
