"""Questions over many networks: sweeps, budget fits, alpha x resolution grids."""
