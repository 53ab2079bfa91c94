"""The flow engine: pure functions from (conversation state, inbound event) to an outcome."""
