"""`python -m pv …` is `pv …`."""

from pv.cli import main

main()
