"""Helpers and command line for the Flask, Docker and GitLab CI/CD workshop."""

__version__ = "0.1.0"
