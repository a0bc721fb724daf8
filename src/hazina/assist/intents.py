"""The intents the assistant knows: Banking77's 77 and Hazina's own, with Hazina's examples.

Banking77 intents are answered from the knowledge base. Hazina's intents are the ones the
platform can act on (each names an `Action`), plus asking for a person. Their labelled examples
live here, small and hand-written, so the model can learn them beside Banking77's 10,003.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Action(StrEnum):
    """What the assistant can do for an authenticated customer."""

    balance = "balance"
    statement = "statement"
    send_money_status = "send_money_status"
    reverse_transfer = "reverse_transfer"  # opens a dispute: a reversal request for review
    block_wallet = "block_wallet"
    loan_balance = "loan_balance"
    agent_locator = "agent_locator"  # needs no authentication
    human_agent = "human_agent"  # hand-off on request


# Actions that change something: each waits for the customer's explicit "yes".
CONFIRMED_ACTIONS: Final = frozenset({Action.reverse_transfer, Action.block_wallet})
# Actions that read or change the customer's own records: each needs the PIN first.
AUTHENTICATED_ACTIONS: Final = frozenset(set(Action) - {Action.agent_locator, Action.human_agent})

HAZINA_INTENT_PREFIX: Final = "hazina_"

HAZINA_EXAMPLES: Final[dict[Action, tuple[str, ...]]] = {
    Action.balance: (
        "what is my balance",
        "check my balance",
        "how much money do I have",
        "how much is in my wallet",
        "show me my wallet balance",
        "balance please",
        "what's left in my account",
        "can you tell me my current balance",
        "how much money is on my hazina wallet",
        "I want to know my balance",
        "do I have enough money in my wallet",
        "my available balance",
        "tell me how much cash I have in the wallet",
        "check wallet balance",
        "what is the amount in my mobile money account",
    ),
    Action.statement: (
        "show my last transactions",
        "I need a statement",
        "send me my mini statement",
        "list my recent transactions",
        "what were my last payments",
        "give me my transaction history",
        "mini statement please",
        "show me the last five transactions on my wallet",
        "I want my account statement",
        "what did I spend money on recently",
        "recent activity on my wallet",
        "history of my payments",
        "can I see my statement for this month",
        "print my wallet statement",
        "what transactions happened on my account",
    ),
    Action.send_money_status: (
        "did my money transfer go through",
        "status of the money I sent",
        "has my brother received the money I sent",
        "I sent money but it has not arrived",
        "where is the money I sent to my mother",
        "check the status of my send money",
        "was my p2p transfer successful",
        "my send money is still pending",
        "track the money I sent yesterday",
        "did the recipient get my payment",
        "is my transfer complete",
        "the person I sent money to says they did not get it",
        "what happened to my mobile money transfer",
        "confirm that my payment was delivered",
        "status of my last transfer",
    ),
    Action.reverse_transfer: (
        "I sent money to the wrong number",
        "reverse my last transaction",
        "I made a mistake in the transfer please reverse it",
        "I want to dispute a transaction",
        "please return the money I sent by mistake",
        "I sent to the wrong person",
        "undo my transfer",
        "wrong recipient, I need my money back",
        "can you reverse a mistaken payment",
        "I typed the wrong phone number when sending money",
        "dispute this payment",
        "I want to open a dispute about a transfer",
        "reverse the money I sent in error",
        "get my money back from a wrong transfer",
        "mistaken transfer reversal",
    ),
    Action.block_wallet: (
        "block my wallet",
        "freeze my account",
        "my phone was stolen please block my wallet",
        "someone is using my wallet, stop it",
        "lock my mobile money account",
        "please suspend my wallet now",
        "I lost my phone, block my account",
        "disable my wallet",
        "I think my account has been hacked, freeze it",
        "stop all transactions on my wallet",
        "block my hazina account",
        "my sim card was stolen block my money",
        "deactivate my wallet immediately",
        "somebody knows my pin, block the wallet",
        "freeze wallet",
    ),
    Action.loan_balance: (
        "how much do I owe on my loan",
        "what is my loan balance",
        "when is my next loan repayment due",
        "outstanding loan amount",
        "check my loan",
        "how much is left to pay on my loan",
        "my micro loan balance",
        "loan status please",
        "what do I still owe",
        "how much interest is on my loan",
        "when must I repay my loan",
        "show my loan repayment schedule",
        "is my loan paid off",
        "remaining balance on my credit",
        "how much is my next installment",
    ),
    Action.agent_locator: (
        "where is the nearest agent",
        "find an agent near me",
        "where can I cash out",
        "agent locations",
        "where can I deposit cash into my wallet",
        "nearest mobile money agent",
        "which shop can I withdraw money from",
        "where do I find a hazina agent",
        "list agents in my town",
        "I need an agent to cash in",
        "agent near the market",
        "where can I withdraw cash",
        "find a cash point agent",
        "show me agents close by",
        "locate an agent",
    ),
    Action.human_agent: (
        "I want to talk to a human",
        "connect me to a person",
        "speak to customer care",
        "can I talk to a real agent",
        "transfer me to an operator",
        "I need a human being",
        "let me speak to someone",
        "call centre please",
        "I want customer service staff",
        "human please",
        "talk to support staff",
        "get me a real person",
        "speak with an operator now",
        "you are not helping, give me a person",
        "escalate to a human",
    ),
}


def hazina_label(action: Action) -> str:
    return f"{HAZINA_INTENT_PREFIX}{action.value}"


def action_of(label: str) -> Action | None:
    """The action an intent label names, or None for a Banking77 (answer-only) intent."""
    if not label.startswith(HAZINA_INTENT_PREFIX):
        return None
    try:
        return Action(label[len(HAZINA_INTENT_PREFIX) :])
    except ValueError:
        return None


def hazina_examples() -> tuple[list[str], list[str]]:
    """Hazina's labelled examples as (texts, labels)."""
    texts: list[str] = []
    labels: list[str] = []
    for action, examples in HAZINA_EXAMPLES.items():
        texts.extend(examples)
        labels.extend([hazina_label(action)] * len(examples))
    return texts, labels


def describe(label: str) -> str:
    """A few words a customer can read for an intent, for a clarifying question."""
    action = action_of(label)
    words = (action.value if action is not None else label).rstrip("?").replace("_", " ")
    return words[0].lower() + words[1:] if words else words
