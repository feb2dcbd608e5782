"""The defect benchmark: named mutants of the trainer that `pv gate` must kill (`make mutants`)."""
