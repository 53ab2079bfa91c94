"""The agent console: FastAPI + Jinja2, server-rendered, mounted on `posbot run`'s app."""
