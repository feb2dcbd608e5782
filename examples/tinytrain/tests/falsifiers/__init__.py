# written by pv generate: makes the generated tests a package (no module name clashes)
