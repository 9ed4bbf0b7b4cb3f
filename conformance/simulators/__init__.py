"""National customs systems to test adapters against: real HTTP, per territory, with fault injection.

``start_simulator(territories, keys_dir=...)`` runs one in a thread on a free loopback port;
``eata-gateway simulate --territory CH --port 8201`` runs one from the command line.
"""

from conformance.simulators.app import create_app
from conformance.simulators.faults import Faults
from conformance.simulators.server import Running, free_port, serve_in_thread, start_simulator

__all__ = ["Faults", "Running", "create_app", "free_port", "serve_in_thread", "start_simulator"]
