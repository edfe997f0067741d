"""What a network is: typed layers, the papers' tables as data (one file per family), one builder, spec files."""
