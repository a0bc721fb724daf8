"""HTTP API building blocks: problem responses, middleware, pagination and amounts."""
