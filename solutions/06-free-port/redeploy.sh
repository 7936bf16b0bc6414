#!/usr/bin/env bash
# Exercise 06: deploy the app on $HOST_PORT even when a forgotten container of the workshop publishes it.
# Reads: $IMAGE_NAME $CONTAINER_NAME $HOST_PORT $WORKSHOP_LABEL (the chapter's settings cell exports them).
set -euo pipefail

### BEGIN SOLUTION
# Every running container of the workshop that publishes the port, whatever its name.
holders=$(docker ps -q --filter "publish=$HOST_PORT" --filter "label=$WORKSHOP_LABEL")
if [ -n "$holders" ]; then
  echo "Freeing port $HOST_PORT: removing $(docker inspect -f '{{.Name}}' $holders | tr -d / | tr '\n' ' ')"
  docker rm -f $holders > /dev/null
fi
### EXERCISE # TODO: free the port. Find the running containers that publish $HOST_PORT and carry the
### EXERCISE # workshop's label $WORKSHOP_LABEL (whatever their name), and remove them. Leave every other
### EXERCISE # container alone.
### END SOLUTION

# Replace the deployed container, if there is one (it may be stopped, so it does not publish the port).
if docker container inspect "$CONTAINER_NAME" > /dev/null 2>&1; then
  docker rm -f "$CONTAINER_NAME" > /dev/null
fi
docker run -d --label "$WORKSHOP_LABEL" --name "$CONTAINER_NAME" -p "$HOST_PORT:8080" "$IMAGE_NAME"
