"""behest_lab benchmarks: each module measures against a baseline in the same run and writes JSON results."""
