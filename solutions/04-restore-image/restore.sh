#!/usr/bin/env bash
# Exercise 04: the deploy side of a pipeline whose jobs run on two runners. The build job's runner
# saved the image with `docker save "$IMAGE_NAME" > "$IMAGE_NAME.tar"`; this runner's engine has never
# seen the image, only the artifact. Restore the image from it, so that `docker run "$IMAGE_NAME"` works.
# Reads: $IMAGE_NAME, $ARTIFACT (the tar's path) and $WORKSHOP_LABEL.
set -euo pipefail

### BEGIN SOLUTION
docker load < "$ARTIFACT"
### EXERCISE # TODO: this line makes an image from the tar, but `docker run "$IMAGE_NAME"` then fails.
### EXERCISE # Find out why (compare the image's configuration with the one that was saved), and restore
### EXERCISE # the image the way it was saved: its layers, CMD, USER, ENV and labels.
### EXERCISE docker import --change "LABEL $WORKSHOP_LABEL" "$ARTIFACT" "$IMAGE_NAME"
### END SOLUTION

docker image inspect "$IMAGE_NAME" --format 'restored {{index .RepoTags 0}}: Cmd={{json .Config.Cmd}}'
