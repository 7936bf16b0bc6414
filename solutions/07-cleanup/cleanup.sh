#!/usr/bin/env bash
# Exercise 07: the deploy job's cleanup, run before `docker run --name "$CONTAINER_NAME"`.
# Reads: $CONTAINER_NAME. Runs as a CI job does: the first failing command ends it.
set -eu

### BEGIN SOLUTION
if ! out=$(docker rm -f "$CONTAINER_NAME" 2>&1); then
  case "$out" in
    *"No such container"*) ;;
    *) echo "ERROR: could not remove container $CONTAINER_NAME: $out" >&2; exit 1 ;;
  esac
fi
### EXERCISE # TODO: these two lines hide every error, not only the expected one. Replace them with a
### EXERCISE # cleanup that removes the container (running or stopped), treats "No such container" as
### EXERCISE # nothing to do, and fails, showing the error, on anything else.
### EXERCISE docker stop "$CONTAINER_NAME" || true
### EXERCISE docker rm "$CONTAINER_NAME" || true
### END SOLUTION

echo "cleanup done: no container named $CONTAINER_NAME"
