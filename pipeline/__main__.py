"""`python -m pipeline` is the same as the `stance` command."""

from pipeline.cli import main

if __name__ == "__main__":
    main()
