"""``python -m gateway.relay worker -t FR ...``: the gateway CLI, handy where the script is not installed."""

from gateway.cli import main

if __name__ == "__main__":
    main()
