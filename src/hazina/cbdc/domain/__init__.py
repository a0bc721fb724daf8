"""The CBDC's pure core: chart of accounts, tiers and the holding-limit waterfall."""
