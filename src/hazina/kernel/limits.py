"""Every named limit of the platform, units last (TIGER_STYLE).

The ledger stores identifiers and amounts in native 64-bit integer columns on both SQLite and
PostgreSQL, so they are unsigned 63-bit values: the top value of that range is reserved
("int max", as TigerBeetle reserves 2**128 - 1).
"""

from __future__ import annotations

from typing import Final

# Ledger value ranges.
ledger_id_max: Final = 2**63 - 1  # reserved: ids must be below it
ledger_amount_max: Final = 2**63 - 1  # no amount or balance counter may exceed it
ledger_user_data_128_max: Final = 2**128 - 1
ledger_user_data_64_max: Final = 2**64 - 1
ledger_user_data_32_max: Final = 2**32 - 1
ledger_ledger_max: Final = 2**32 - 1
ledger_code_max: Final = 2**16 - 1
ledger_timeout_seconds_max: Final = 2**32 - 1

# Ledger batching.
transfer_batch_size_max: Final = 8_189  # as TigerBeetle: events per request
account_batch_size_max: Final = 8_189
query_limit_max: Final = 8_189  # rows per lookup or query page
group_commit_requests_max: Final = 64  # caller requests gathered into one database transaction
# After taking the waiting requests, the committer lingers this long for callers of the group
# before (answered moments ago, about to send again), when that group had more than one:
# two cohorts that take turns at commit become one group, sharing one fsync.
group_commit_linger_us: Final = 200
# A PostgreSQL writer writes a group of new transfers without reading first only this soon
# after its own last commit; after a pause it reads first, so a connection the server dropped
# meanwhile fails before COMMIT (retried) rather than at it (outcome unknown). After such a
# group was refused (another writer committed meanwhile) it reads first for as long.
ledger_trust_own_commit_ms: Final = 1_000
pending_expiry_batch_max: Final = 8_189  # expired pending transfers voided per commit
transfer_apply_chunk_max: Final = 1_024  # events applied before their rows go to the writer
# A large batch's first chunk at most; the next ones double up to the maximum: the writer starts on
# the first rows sooner.
transfer_apply_chunk_first_max: Final = 128

# Storage.
database_busy_timeout_ms: Final = 30_000
serialization_retries_max: Final = 16  # retries on SQLSTATE 40001 / 40P01
serialization_retry_backoff_ms: Final = 2
# SQLite: rows written by the background writer thread while the group is still being applied
# (smaller groups are written inline); rows per multi-row statement (13 values each, under
# SQLite's 32,766 bound parameters).
sqlite_background_write_rows_min: Final = 1_024
sqlite_rows_per_statement_max: Final = 1_024
# While the writer thread works beside the committer, the interpreter hands the GIL over this
# often (default 5,000 us): the writer waits for it after every statement.
sqlite_writer_switch_interval_us: Final = 500
# WAL checkpoints run on their own thread after commits; the writer checkpoints by itself only
# if that thread falls this far behind (pages of 4 KiB: 64 MiB).
sqlite_wal_checkpoint_fallback_pages: Final = 16_384
sqlite_wal_checkpoint_interval_ms: Final = 250  # at most one background checkpoint this often
# SQLite statement indexes: a bucket is full, and the next opens, once it holds this many
# transfers (a transaction is never split, so it may hold up to one batch more). A commit's
# index entries go in the newest bucket's pages (written and fsynced per commit), not across
# the whole index; an account's statement probes each bucket it spans (about 6,100 per 100
# million transfers: a page of a rare account's history probed 6,500 buckets in 1-3 ms).
sqlite_index_bucket_transfers_min: Final = 16_384
sqlite_index_bucket_window_max: Final = 256  # buckets probed by one statement

# Identity.
password_length_min: Final = 12  # characters; length is what resists guessing (NIST 800-63B)
password_length_max: Final = 1_024  # characters; bounds the work a login attempt can demand
password_hash_passes: Final = 2  # argon2id time cost (OWASP: 19 MiB, 2 passes, 1 lane)
password_hash_memory_bytes: Final = 19 * 1_024 * 1_024
password_hash_lanes: Final = 1  # one lane per hash, so concurrent logins use the other cores
password_hash_length_bytes: Final = 32
password_salt_length_bytes: Final = 16
totp_step_s: Final = 30
totp_drift_steps_max: Final = 1  # steps either side of now, for clock skew and typing time
api_key_secret_bytes: Final = 24  # 192 bits: 32 base64url characters, no padding

# EMVCo QR.
qr_payload_length_max: Final = 512  # EMVCo MPM: a whole payload, in characters
qr_field_length_max: Final = 99  # a field's length is two decimal digits
qr_merchant_id_length_max: Final = 81  # tag 26 holds 99: 14 for our GUID, 4 for the id's header
qr_merchant_name_length_max: Final = 25  # tag 59
qr_merchant_city_length_max: Final = 15  # tag 60
qr_amount_length_max: Final = 13  # tag 54, decimal point included
qr_reference_length_max: Final = 25  # tag 62 sub-tag 05
qr_terminal_id_length_max: Final = 25  # tag 62 sub-tag 07
qr_expires_at_max_s: Final = 2**32 - 1  # Unix seconds (year 2106): ten digits in tag 80

# HTTP API.
request_id_length_max: Final = 128  # characters of an accepted X-Request-ID header
rate_limit_keys_max: Final = 65_536  # clients one rate limiter remembers; the least recent go
page_limit_max: Final = 100  # items per page of a list endpoint
page_cursor_length_max: Final = 256  # characters of a `starting_after` cursor
amount_integer_digits_max: Final = 19  # a zero-decimal amount up to ledger_amount_max
amount_fraction_digits_max: Final = 4  # the most minor-unit digits in ISO 4217 (CLF, UYW)

# Operator console (`hazina.console`).
console_page_rows_max: Final = 50  # rows per page of a console table (transactions, audit)
console_search_results_max: Final = 50  # parties one customer search shows
console_dashboard_window_s: Final = 30 * 86_400  # how far back the dashboard's charts look
console_chart_buckets_max: Final = 48  # time buckets of one dashboard chart
console_agents_max: Final = 500  # agent float wallets the dashboard reads
console_agent_float_low_minor_units: Final = 500_000  # float below this is flagged low
console_statement_rows_max: Final = 50  # statement entries Customer 360 shows
console_loans_max: Final = 1_000  # loans the dashboard's loan-book panel reads
console_case_sla_s: Final = 2 * 86_400  # an open AML case should be decided within this
console_hold_sla_s: Final = 4 * 3_600  # a held payment should be reviewed within this
console_page_target_ms: Final = 300  # server time of one console page on the demo data

# Payments tariffs and limits.
tariff_bands_max: Final = 64  # fee or commission bands per transaction type of one tariff
tariff_versions_max: Final = 1_024  # tariff versions one schedule holds
tariff_basis_points_max: Final = 10_000  # a percentage fee takes at most the whole amount

# Payments.
bank_transfer_timeout_s: Final = 86_400  # a bank has a day to confirm before the hold is voided
voucher_lifetime_s: Final = 7 * 86_400  # an unclaimed voucher is refunded after a week
statement_page_max: Final = 500  # entries per statement page
operator_session_lifetime_s: Final = 8 * 3_600  # an operator's login lasts one working day
api_rate_per_second_max: Final = 5_000  # requests per second per credential, refilled steadily
api_rate_burst_max: Final = 10_000  # requests one credential may send at once
housekeeping_interval_s: Final = 5  # how often the server voids timed-out holds and vouchers

# Risk: online fraud features, models and drift.
risk_label_delay_s: Final = 7 * 86_400  # fraud labels are trusted a week after the payment
risk_history_window_s: Final = 30 * 86_400  # the longest feature window
risk_pending_labels_max: Final = 4_000_000  # labels recorded ahead of their known-at time
risk_counterparties_per_customer_max: Final = 256  # per role, least recently used forgotten
risk_customers_per_device_max: Final = 64  # distinct customers one device remembers
risk_top_reasons_max: Final = 5  # feature contributions stored with a decision
risk_registry_versions_max: Final = 1_024  # model versions one registry holds
risk_drift_bins_max: Final = 10  # quantile bins of the population stability index
risk_scoring_p99_ms: Final = 5  # the payment path's budget for scoring one payment
risk_labelling_interval_s: Final = 3_600  # how often the server labels matured payments genuine
risk_labelling_batch_max: Final = 1_000  # payments one labelling unit of work labels
risk_labelling_batches_max: Final = 10_000  # units one labelling run may take
risk_drift_days_max: Final = 30  # recent days a drift report compares (the feature window)
risk_model_check_timeout_s: Final = 120  # loading a model apart to check it

# Risk: AML monitoring over the transaction graph, and its cases.
aml_graph_transactions_max: Final = 50_000_000  # one graph's transactions (numpy columns in memory)
aml_neighbourhood_accounts_max: Final = 500  # accounts one evidence neighbourhood collects
aml_cycle_length_max: Final = 8  # the longest cycle the bounded search looks for, in transfers
aml_cycle_search_steps_max: Final = 20_000_000  # path extensions one cycle search may try
aml_cycles_per_account_max: Final = 16  # cycles kept as evidence for one account
aml_alert_evidence_max: Final = 200  # transaction ids one alert carries as evidence
aml_case_note_length_max: Final = 20_000  # characters of one case note
aml_case_notes_max: Final = 1_000  # notes on one case
aml_case_evidence_transactions_max: Final = 2_000  # evidence transactions stored with one case
aml_case_page_max: Final = 100  # cases per page of a case list
aml_report_transactions_max: Final = 1_000  # transactions in one goAML report
aml_scan_interval_s: Final = 3_600  # how often the server runs the scenarios over its payments
aml_scan_window_s: Final = 190 * 86_400  # payments one scan reads: dormancy needs 180 quiet days
aml_scan_transactions_max: Final = 5_000_000  # payments one scan reads, the newest kept

# Risk: operator rules and decisions in the payment path.
risk_rules_per_set_max: Final = 500  # rules in one rule set
risk_rule_depth_max: Final = 8  # nesting of all/any/not in one rule
risk_rule_list_length_max: Final = 1_000  # children of all/any, values of in/not_in
risk_rule_name_length_max: Final = 100  # characters of a rule's name
risk_step_up_lifetime_s: Final = 300  # a step-up code is good for five minutes
risk_step_up_attempts_max: Final = 5  # wrong codes before a challenge is spent
risk_hold_lifetime_s: Final = (
    2 * 86_400
)  # a held payment not reviewed by then is voided (money back)
risk_decision_page_max: Final = 100  # decisions per page of a list

# Economy simulator (`hazina.sim`).
simulator_customers_max: Final = 10_000_000  # customers one simulation holds in memory
simulator_days_max: Final = 3_660  # simulated days of one run (ten years)
simulator_affordability_passes: Final = 8  # rounds that drop what a wallet cannot pay
simulator_episode_events_max: Final = 96  # events one fraud or laundering episode may inject
simulator_contacts_max: Final = 48  # people in one customer's P2P address book
simulator_driver_lanes: Final = 16  # payments the driver keeps in flight (group commit)
simulator_parquet_row_group_max: Final = 1_048_576  # rows per Parquet row group
simulator_cash_report_amount_min: Final = 10_000_000  # KES 100,000 in cents: reported cash
risk_warm_up_payments_max: Final = 5_000_000  # past payments a starting server folds into features
risk_ensemble_members_max: Final = 16  # boosters averaged in one fraud model
risk_trees_max: Final = 5_000  # boosting rounds per member
risk_early_stopping_rounds_max: Final = 50  # rounds without a better validation score

# Loans (`hazina.credit.loans`).
loan_term_installments_max: Final = 120  # installments of one loan
loan_period_days_max: Final = 366  # days between two installments
loan_accrual_catch_up_days_max: Final = 3_660  # days one accrual run may catch up for a loan
loan_close_day_batch_max: Final = 10_000  # loans one end-of-day run reads per page
loan_active_per_customer_max: Final = 1  # loans a customer may hold at once (live or approved)
loan_page_max: Final = 100  # loans or products per page of a list
loan_sweep_events_max: Final = 10_000  # outbox events one inflow sweep reads
loan_sweep_interval_s: Final = 60  # how often the server collects dues from wallets' inflows
loan_close_day_interval_s: Final = 3_600  # how often the server re-runs the loans' end of day

# Credit scoring (`hazina.credit`).
credit_dataset_rows_max: Final = 5_000_000  # rows of one training table
credit_features_max: Final = 500  # feature columns of one training table
credit_calibration_bins_max: Final = 10  # equal-count groups of a calibration table
credit_reasons_max: Final = 4  # adverse-action reasons given with a decision (as US ECOA)
credit_cv_folds_max: Final = 10  # folds of a cross-validation
credit_trees_max: Final = 5_000  # boosting rounds of a gradient-boosting credit model
credit_early_stopping_rounds_max: Final = 200  # rounds without a better validation score
credit_registry_versions_max: Final = 1_024  # model versions one credit registry holds
credit_wallet_transactions_max: Final = 100_000  # payments of one wallet read for its features

# CBDC (`hazina.cbdc`). Amounts in minor units of the fiat the CBDC is denominated in.
cbdc_anonymous_holding_max_minor_units: Final = 2_500_000  # 25,000.00: anonymous wallet cap
cbdc_full_kyc_holding_max_minor_units: Final = 30_000_000  # 300,000.00: full-KYC wallet cap
cbdc_offline_balance_max_minor_units: Final = 500_000  # 5,000.00 a device may hold offline
cbdc_offline_token_lifetime_s: Final = 30 * 86_400  # a loaded token must be redeemed within this
cbdc_offline_tokens_per_load_max: Final = 64  # notes one load may split into
cbdc_offline_hops_max: Final = 64  # device-to-device transfers one token may carry
cbdc_offline_sync_tokens_max: Final = 256  # tokens one sync may redeem
cbdc_escrow_expiry_max_s: Final = 365 * 86_400  # longest a conditional payment may wait
cbdc_release_batch_max: Final = 1_000  # conditional payments one release run posts
cbdc_scan_page_max: Final = 8_189  # accounts read per page by the audit and the overview
cbdc_velocity_window_s: Final = 30 * 86_400  # payments counted for velocity
cbdc_page_max: Final = 100  # wallets, participants or payments per page of a list

# The contact-centre assistant (`hazina.assist`).
assist_message_length_max: Final = 2_000  # characters of one customer message
assist_conversation_messages_max: Final = 200  # messages of one conversation, both sides
assist_pin_attempts_max: Final = 3  # wrong PINs before the conversation goes to a person
assist_pin_length_min: Final = 4  # digits of a customer PIN
assist_pin_length_max: Final = 6
assist_clarifications_max: Final = 1  # clarifying questions before a hand-off
assist_page_max: Final = 100  # hand-offs, articles or messages per page of a list
assist_articles_max: Final = 1_000  # articles of the knowledge base
assist_article_length_max: Final = 20_000  # characters of one article's markdown
assist_statement_transactions_max: Final = 5  # transactions a chat statement lists
assist_quote_length_max: Final = 400  # characters of an article quoted in a reply
assist_training_texts_max: Final = 100_000  # labelled examples one intent model learns from

# Webhooks (`hazina.partners.webhooks`). The retry delay after failed attempt n is
# webhook_backoff_first_s * 2**(n - 1), capped at webhook_backoff_max_s; after
# webhook_attempts_max failed attempts a delivery is dead-lettered.
webhook_attempts_max: Final = 8  # attempts of one delivery before it is dead-lettered
webhook_backoff_first_s: Final = 5  # delay before the first retry
webhook_backoff_max_s: Final = 6 * 3_600  # longest delay between two attempts
webhook_request_timeout_ms: Final = 5_000  # one POST to a partner's endpoint, connect to answer
webhook_claim_lease_s: Final = 300  # a claimed delivery is tried again if its sender vanished
webhook_subscriptions_per_owner_max: Final = 20  # live subscriptions of one API principal
webhook_event_types_max: Final = 50  # event types (or wildcards) of one subscription
webhook_url_length_max: Final = 2_048  # characters of an endpoint URL
webhook_description_length_max: Final = 200  # characters of a subscription's description
webhook_dispatch_events_max: Final = 1_000  # outbox events one dispatch pass reads
webhook_send_batch_max: Final = 100  # deliveries one send pass claims
webhook_send_workers_max: Final = 8  # endpoints one send pass posts to at once
webhook_response_excerpt_length_max: Final = 256  # characters of a response body logged
webhook_secret_bytes_min: Final = 24  # random bytes of a signing secret
webhook_secret_overlap_s: Final = 24 * 3_600  # the old secret still signs after a rotation
webhook_delivery_interval_s: Final = 5  # how often the server dispatches and sends
webhook_services_open_max: Final = 64  # platforms (tenants) whose webhook service the API keeps

# Partners (`hazina.partners`): OAuth2 tokens, partner apps, tenants.
oauth_token_lifetime_s: Final = 900  # an access token is valid this long (15 minutes)
oauth_signing_keys_max: Final = 2  # active signing keys: the current and the one before it
oauth_key_rotation_interval_s: Final = 86_400  # the server rotates keys daily (>= lifetime)
partner_rate_per_second_max: Final = 1_000  # highest request rate an app may be granted
partner_burst_max: Final = 10_000  # highest burst an app may be granted
partner_daily_quota_max: Final = 100_000_000  # most requests a day an app may be granted
partner_apps_page_max: Final = 100  # apps per page of a list
partner_usage_flush_interval_s: Final = 10  # how often metered requests are written down
partner_settlement_batch_max: Final = 10_000  # partner payments one revenue-share run settles
partner_settlement_interval_s: Final = 60  # how often the server pays revenue shares
tenants_max: Final = 10_000  # tenants (operators and sandboxes) of one installation
tenant_platforms_open_max: Final = 64  # tenant databases one server keeps open at once
sandbox_customers_max: Final = 200  # demo customers seeded into a partner's sandbox
