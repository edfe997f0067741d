"""What a network costs: the papers' formulas, the per-op registry, terms and conventions, totals, bytes and time."""
