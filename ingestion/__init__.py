"""Source contracts, the demo generator, validation and the landing -> raw loader."""
