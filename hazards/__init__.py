"""Hazard layers for Madad: rasters in and out, generators, impact functions."""
