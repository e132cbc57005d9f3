"""Deposits: the bail deposit (保证金) and the compensation escrow (赔偿保证金提存)."""
