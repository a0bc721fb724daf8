"""Credit: scoring applicants (points scorecards and gradient boosting) and, in `loans/`, the
micro-loan lifecycle."""
