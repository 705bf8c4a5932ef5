# A course-staff development environment in the spirit of CS 61A's staff image: the
# whole toolchain that builds the course website, frozen in one image, so every staff
# member (and CI) builds the site the same way. Shown in the extras deck, not built live.
#   docker build -t cs61a-staff:2025.1 -f docker_demo/61a.Dockerfile docker_demo
#   docker run --rm -it -v "$PWD":/home/cs61a/site -p 8000:8000 cs61a-staff:2025.1
FROM python:3.12-slim-trixie

LABEL edu.cs198.workshop="docker-demo"

# The system toolchain, in the layer that changes least: make and git; pandoc turns
# Markdown into HTML; a TeX subset typesets the PDF worksheets and exams; Node.js
# and npm build the site's JavaScript. Versions come with the Debian release that
# the tag above fixes (trixie, Debian 13).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        git \
        latexmk \
        make \
        nodejs \
        npm \
        pandoc \
        texlive-fonts-recommended \
        texlive-latex-base \
        texlive-latex-recommended \
 && rm -rf /var/lib/apt/lists/*

# Staff work as an ordinary user (USER 1000 below): uid 1000 is Linux's usual first user, so where
# that is you, files written into a mounted checkout are yours, not root's (Docker Desktop maps them).
RUN useradd --create-home --uid 1000 cs61a \
 && install -d -o cs61a -g cs61a /home/cs61a/site

# JavaScript formatter used by `make lint`, pinned like everything else.
RUN npm install --global prettier@3.3.3 && npm cache clean --force

# Python packages: the requirements file is copied on its own, so editing anything
# else reuses this cached layer, and changing it re-runs only pip.
COPY 61a-requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

USER 1000
WORKDIR /home/cs61a/site

# `make serve` previews the site on this port.
EXPOSE 8000
# An interactive shell in the mounted checkout: run `make`, `make serve`, `pytest`...
CMD ["bash"]
