# The demo server on the official Python image: Python is already installed.
# Build: docker build -t workshop-demo-py:1.0 -f docker_demo/py.Dockerfile docker_demo
# Pinned, never `latest`, naming its Debian release; it still moves (3.12.x, fixes), @sha256:... never.
FROM python:3.12-slim-trixie

LABEL edu.cs198.workshop="docker-demo"

# No .pyc written next to server.py at run time (pip still compiles what it installs); unbuffered logs.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

# An unprivileged user with a fixed uid; a numeric USER below lets Kubernetes
# check runAsNonRoot.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin demo

WORKDIR /app

# Dependencies before code: this layer is rebuilt only when requirements.txt
# changes, so editing server.py reuses the cached pip install.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code comes last because it changes most often.
COPY server.py .

USER 10001
EXPOSE 3000
CMD ["python", "server.py"]
