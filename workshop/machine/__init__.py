"""The machine the lecture runs on: host programs and processes, the Docker engine, the local
registry, the lecture's images, and stand-in base images where no registry can be reached."""
