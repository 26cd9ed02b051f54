CREATE TABLE `analytics_daily` (
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`currency` text NOT NULL,
	`bucket` integer NOT NULL,
	`mrr` integer DEFAULT 0 NOT NULL,
	`subscribers` integer DEFAULT 0 NOT NULL,
	`customers` integer DEFAULT 0 NOT NULL,
	`new_mrr` integer DEFAULT 0 NOT NULL,
	`new_count` integer DEFAULT 0 NOT NULL,
	`expansion_mrr` integer DEFAULT 0 NOT NULL,
	`expansion_count` integer DEFAULT 0 NOT NULL,
	`contraction_mrr` integer DEFAULT 0 NOT NULL,
	`contraction_count` integer DEFAULT 0 NOT NULL,
	`churn_mrr` integer DEFAULT 0 NOT NULL,
	`churn_count` integer DEFAULT 0 NOT NULL,
	`reactivation_mrr` integer DEFAULT 0 NOT NULL,
	`reactivation_count` integer DEFAULT 0 NOT NULL,
	`trials_started` integer DEFAULT 0 NOT NULL,
	`trials_converted` integer DEFAULT 0 NOT NULL,
	`trials_lost` integer DEFAULT 0 NOT NULL,
	`revenue` integer DEFAULT 0 NOT NULL,
	`refunds` integer DEFAULT 0 NOT NULL,
	`fees` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `livemode`, `currency`, `bucket`)
);
--> statement-breakpoint
CREATE TABLE `analytics_monthly` (
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`currency` text NOT NULL,
	`bucket` integer NOT NULL,
	`mrr` integer DEFAULT 0 NOT NULL,
	`subscribers` integer DEFAULT 0 NOT NULL,
	`customers` integer DEFAULT 0 NOT NULL,
	`new_mrr` integer DEFAULT 0 NOT NULL,
	`new_count` integer DEFAULT 0 NOT NULL,
	`expansion_mrr` integer DEFAULT 0 NOT NULL,
	`expansion_count` integer DEFAULT 0 NOT NULL,
	`contraction_mrr` integer DEFAULT 0 NOT NULL,
	`contraction_count` integer DEFAULT 0 NOT NULL,
	`churn_mrr` integer DEFAULT 0 NOT NULL,
	`churn_count` integer DEFAULT 0 NOT NULL,
	`reactivation_mrr` integer DEFAULT 0 NOT NULL,
	`reactivation_count` integer DEFAULT 0 NOT NULL,
	`trials_started` integer DEFAULT 0 NOT NULL,
	`trials_converted` integer DEFAULT 0 NOT NULL,
	`trials_lost` integer DEFAULT 0 NOT NULL,
	`revenue` integer DEFAULT 0 NOT NULL,
	`refunds` integer DEFAULT 0 NOT NULL,
	`fees` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `livemode`, `currency`, `bucket`)
);
--> statement-breakpoint
CREATE TABLE `analytics_plans` (
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`currency` text NOT NULL,
	`plan_id` text NOT NULL,
	`mrr` integer DEFAULT 0 NOT NULL,
	`subscribers` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `livemode`, `currency`, `plan_id`)
);
--> statement-breakpoint
CREATE TABLE `analytics_reconciliations` (
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`currency` text NOT NULL,
	`checked_at` integer NOT NULL,
	`mirror_mrr` integer NOT NULL,
	`ledger_mrr` integer NOT NULL,
	`mirror_subscribers` integer NOT NULL,
	`ledger_subscribers` integer NOT NULL,
	`drift` integer NOT NULL,
	`recently_changed` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `livemode`, `currency`)
);
--> statement-breakpoint
CREATE INDEX `analytics_reconciliations_checked_idx` ON `analytics_reconciliations` (`checked_at`);--> statement-breakpoint
CREATE TABLE `mrr_movements` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`customer_id` text NOT NULL,
	`subscription_id` text,
	`currency` text NOT NULL,
	`type` text NOT NULL,
	`mrr_before` integer NOT NULL,
	`mrr_after` integer NOT NULL,
	`effective_at` integer NOT NULL,
	`source_event_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `mrr_movements_tenant_time_idx` ON `mrr_movements` (`tenant_id`,`livemode`,`effective_at`,`id`);--> statement-breakpoint
CREATE INDEX `mrr_movements_customer_idx` ON `mrr_movements` (`tenant_id`,`customer_id`,`effective_at`);--> statement-breakpoint
CREATE TABLE `mrr_states` (
	`subscription_id` text NOT NULL,
	`source_event_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`customer_id` text NOT NULL,
	`plan_id` text,
	`currency` text NOT NULL,
	`effective_at` integer NOT NULL,
	`status` text NOT NULL,
	`mrr` integer NOT NULL,
	`discount_ends_at` integer,
	`mrr_after_discount` integer,
	PRIMARY KEY(`subscription_id`, `source_event_id`)
);
--> statement-breakpoint
CREATE INDEX `mrr_states_customer_idx` ON `mrr_states` (`tenant_id`,`customer_id`);--> statement-breakpoint
CREATE TABLE `revenue_entries` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`customer_id` text,
	`currency` text NOT NULL,
	`kind` text NOT NULL,
	`amount` integer NOT NULL,
	`fee` integer DEFAULT 0 NOT NULL,
	`occurred_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `revenue_entries_customer_idx` ON `revenue_entries` (`tenant_id`,`customer_id`);