"""Live inputs: SBS-1 from a receiver and recorded traffic replayed, posted as batches to the tracks API."""
