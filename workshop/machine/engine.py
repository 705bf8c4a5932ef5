"""The container engine the workshop uses, behind the engines.Engine Protocol. Docker (docker_engine.py) is
the one implementation today: another engine is another module that mypy checks against the Protocol
here, chosen here."""

from workshop.machine import docker_engine
from workshop.machine.engines import Engine

ENGINE: Engine = docker_engine
