"""Readers of the places behest keeps its data; each yields ``behest_lab.interchange.Bundle``s."""
