"""Channels: one module per platform; each turns its updates into InboundEvents and delivers
OutboundMessages from the outbox."""
