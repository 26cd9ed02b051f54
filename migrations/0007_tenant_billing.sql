CREATE TABLE `checkout_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`stripe_session_id` text NOT NULL,
	`plan_id` text NOT NULL,
	`customer_id` text,
	`customer_email` text,
	`quantity` integer DEFAULT 1 NOT NULL,
	`status` text NOT NULL,
	`url` text,
	`success_url` text NOT NULL,
	`cancel_url` text NOT NULL,
	`subscription_id` text,
	`expires_at` integer,
	`completed_at` integer,
	`created_by` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `checkout_sessions_stripe_unique` ON `checkout_sessions` (`stripe_session_id`);--> statement-breakpoint
CREATE INDEX `checkout_sessions_tenant_created_idx` ON `checkout_sessions` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `customer_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`customer_id` text NOT NULL,
	`plan_id` text,
	`stripe_subscription_id` text NOT NULL,
	`stripe_customer_id` text NOT NULL,
	`stripe_item_id` text,
	`stripe_price_id` text,
	`status` text NOT NULL,
	`quantity` integer DEFAULT 1 NOT NULL,
	`unit_amount` integer DEFAULT 0 NOT NULL,
	`currency` text NOT NULL,
	`interval` text NOT NULL,
	`interval_count` integer DEFAULT 1 NOT NULL,
	`current_period_start` integer,
	`current_period_end` integer,
	`trial_start` integer,
	`trial_end` integer,
	`cancel_at_period_end` integer DEFAULT false NOT NULL,
	`cancel_at` integer,
	`canceled_at` integer,
	`ended_at` integer,
	`pause_behavior` text,
	`pause_resumes_at` integer,
	`discount` text,
	`application_fee_percent` text,
	`latest_invoice_id` text,
	`metadata` text NOT NULL,
	`last_event_created` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `customer_subscriptions_stripe_unique` ON `customer_subscriptions` (`stripe_subscription_id`);--> statement-breakpoint
CREATE INDEX `customer_subscriptions_tenant_created_idx` ON `customer_subscriptions` (`tenant_id`,`livemode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `customer_subscriptions_customer_idx` ON `customer_subscriptions` (`customer_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `customer_subscriptions_tenant_status_idx` ON `customer_subscriptions` (`tenant_id`,`livemode`,`status`);--> statement-breakpoint
CREATE INDEX `customer_subscriptions_plan_idx` ON `customer_subscriptions` (`plan_id`);--> statement-breakpoint
CREATE TABLE `customers` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`external_id` text,
	`stripe_customer_id` text NOT NULL,
	`email` text,
	`name` text,
	`phone` text,
	`description` text,
	`address` text,
	`metadata` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`default_payment_method` text,
	`deleted_at` integer,
	`last_event_created` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `customers_stripe_unique` ON `customers` (`stripe_customer_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `customers_external_unique` ON `customers` (`tenant_id`,`livemode`,`external_id`);--> statement-breakpoint
CREATE INDEX `customers_tenant_created_idx` ON `customers` (`tenant_id`,`livemode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `customers_tenant_email_idx` ON `customers` (`tenant_id`,`livemode`,`email`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`locked_until` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires_idx` ON `idempotency_keys` (`expires_at`);--> statement-breakpoint
CREATE TABLE `invoices` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`stripe_invoice_id` text NOT NULL,
	`customer_id` text,
	`stripe_customer_id` text NOT NULL,
	`subscription_id` text,
	`stripe_subscription_id` text,
	`number` text,
	`status` text NOT NULL,
	`billing_reason` text,
	`collection_method` text NOT NULL,
	`currency` text NOT NULL,
	`subtotal` integer DEFAULT 0 NOT NULL,
	`discount_amount` integer DEFAULT 0 NOT NULL,
	`tax` integer DEFAULT 0 NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`amount_due` integer DEFAULT 0 NOT NULL,
	`amount_paid` integer DEFAULT 0 NOT NULL,
	`amount_remaining` integer DEFAULT 0 NOT NULL,
	`amount_refunded` integer DEFAULT 0 NOT NULL,
	`application_fee_amount` integer,
	`attempt_count` integer DEFAULT 0 NOT NULL,
	`next_payment_attempt` integer,
	`due_date` integer,
	`period_start` integer,
	`period_end` integer,
	`description` text,
	`hosted_invoice_url` text,
	`invoice_pdf` text,
	`payment_intent_id` text,
	`charge_id` text,
	`lines` text NOT NULL,
	`discounts` text NOT NULL,
	`metadata` text NOT NULL,
	`finalized_at` integer,
	`paid_at` integer,
	`voided_at` integer,
	`last_event_created` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invoices_stripe_unique` ON `invoices` (`stripe_invoice_id`);--> statement-breakpoint
CREATE INDEX `invoices_tenant_created_idx` ON `invoices` (`tenant_id`,`livemode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `invoices_customer_idx` ON `invoices` (`customer_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `invoices_subscription_idx` ON `invoices` (`subscription_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `invoices_tenant_status_idx` ON `invoices` (`tenant_id`,`livemode`,`status`,`created_at`);--> statement-breakpoint
-- Search over customers' name and email (FTS5, external content), scoped by a "<tenant> <mode>" column
-- so a tenant's search reads only its own matches. Triggers keep it in step with the table.
CREATE VIRTUAL TABLE `customers_fts` USING fts5(`scope`, `name`, `email`, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER `customers_fts_insert` AFTER INSERT ON `customers` BEGIN
  INSERT INTO `customers_fts` (rowid, `scope`, `name`, `email`) VALUES (new.rowid, new.tenant_id || ' ' || CASE WHEN new.livemode THEN 'live' ELSE 'test' END, coalesce(new.name, ''), coalesce(new.email, ''));
END;
--> statement-breakpoint
CREATE TRIGGER `customers_fts_delete` AFTER DELETE ON `customers` BEGIN
  DELETE FROM `customers_fts` WHERE rowid = old.rowid;
END;
--> statement-breakpoint
CREATE TRIGGER `customers_fts_update` AFTER UPDATE OF `name`, `email` ON `customers` BEGIN
  DELETE FROM `customers_fts` WHERE rowid = old.rowid;
  INSERT INTO `customers_fts` (rowid, `scope`, `name`, `email`) VALUES (new.rowid, new.tenant_id || ' ' || CASE WHEN new.livemode THEN 'live' ELSE 'test' END, coalesce(new.name, ''), coalesce(new.email, ''));
END;
