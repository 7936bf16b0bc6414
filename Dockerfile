# The workshop's image for the birthday app (chapter 02 reads it line by line).
FROM python:3.13-slim

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes,
# so an edit to app.py reuses it from the build cache.
COPY app/requirements.txt .
RUN pip install --no-cache-dir --root-user-action=ignore -r requirements.txt

# The code last: it changes most often.
COPY app/app.py .

# Key=value form; the seed's "ENV NAME Martin" form is deprecated.
ENV NAME=Martin

# An unprivileged user: a break-in through the app does not get root in the container.
USER 10001:10001

# Python as PID 1 ignores SIGTERM (docker stop's default) and is killed after 10 s.
# It does handle SIGINT (KeyboardInterrupt), so docker stop ends it at once.
STOPSIGNAL SIGINT

EXPOSE 8080
CMD ["python", "app.py"]
