"""The contact-centre assistant: intents, answers from a knowledge base, safe actions, hand-off."""
