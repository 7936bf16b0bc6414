#!/usr/bin/env bash
# Exercise 05: run a job as the unprivileged user 10001 (a stand-in for gitlab-runner), in a throwaway
# container that has the host's Docker socket and docker program, and let that user reach the engine.
# Reads: $CONTAINER_NAME $WORKSHOP_LABEL, and $SOCK (the engine's socket, default /var/run/docker.sock).
set -euo pipefail
SOCK=${SOCK:-/var/run/docker.sock}

options=(
  --rm --label "$WORKSHOP_LABEL" --name "$CONTAINER_NAME-runner"
  --user 10001:10001 -e HOME=/tmp
  -v "$SOCK:/var/run/docker.sock"
  -v "$(command -v docker):/usr/local/bin/docker:ro"
)
### BEGIN SOLUTION
options+=(--group-add "$(stat -c %g "$SOCK")")
### EXERCISE # TODO: the job below fails with "permission denied": user 10001 may not open the socket.
### EXERCISE # Add an option to the container so that its process may use the socket. Keep user 10001
### EXERCISE # (no root), and leave the socket's owner and permissions alone.
### END SOLUTION

# The job: ask the engine for its version, as user 10001.
docker run "${options[@]}" python:3.13-slim \
  sh -c 'docker version --format "engine {{.Server.Version}} answered user $(id -u)"'
