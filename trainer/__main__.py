"""`python -m trainer` runs the same click group as the `trainer` console script."""

from trainer.cli import main

if __name__ == "__main__":
    main(prog_name="trainer")
