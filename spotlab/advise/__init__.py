"""Advice: bids, interruption rates, spec ordering, allocation, cold-start savings."""
