CREATE TABLE `coupons` (
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`id` text NOT NULL,
	`name` text,
	`percent_off` real,
	`amount_off` integer,
	`currency` text,
	`duration` text NOT NULL,
	`duration_in_months` integer,
	`max_redemptions` integer,
	`redeem_by` integer,
	`times_redeemed` integer DEFAULT 0 NOT NULL,
	`metadata` text NOT NULL,
	`deleted_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`tenant_id`, `livemode`, `id`)
);
--> statement-breakpoint
CREATE INDEX `coupons_tenant_created_idx` ON `coupons` (`tenant_id`,`livemode`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `customer_discounts` (
	`customer_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`coupon_id` text NOT NULL,
	`promotion_code_id` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `dunning_settings` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`after_attempts` integer NOT NULL,
	`action` text NOT NULL,
	`notify_each_failure` integer NOT NULL,
	`updated_by` text,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `dunning_steps` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`stripe_invoice_id` text NOT NULL,
	`invoice_id` text,
	`subscription_id` text,
	`customer_id` text,
	`kind` text NOT NULL,
	`attempt` integer NOT NULL,
	`action` text,
	`note` text NOT NULL,
	`stripe_event_id` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `dunning_steps_unique` ON `dunning_steps` (`stripe_invoice_id`,`kind`,`attempt`);--> statement-breakpoint
CREATE INDEX `dunning_steps_tenant_created_idx` ON `dunning_steps` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `dunning_steps_subscription_idx` ON `dunning_steps` (`subscription_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `promotion_codes` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`coupon_id` text NOT NULL,
	`code` text NOT NULL,
	`active` integer NOT NULL,
	`customer_id` text,
	`max_redemptions` integer,
	`expires_at` integer,
	`first_time_transaction` integer DEFAULT false NOT NULL,
	`minimum_amount` integer,
	`minimum_amount_currency` text,
	`metadata` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `promotion_codes_coupon_idx` ON `promotion_codes` (`tenant_id`,`livemode`,`coupon_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `promotion_codes_code_idx` ON `promotion_codes` (`tenant_id`,`livemode`,`code`);--> statement-breakpoint
CREATE TABLE `refunds` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`livemode` integer NOT NULL,
	`stripe_refund_id` text NOT NULL,
	`invoice_id` text,
	`customer_id` text,
	`stripe_charge_id` text,
	`stripe_payment_intent_id` text,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`reason` text,
	`status` text NOT NULL,
	`failure_reason` text,
	`refund_application_fee` integer DEFAULT false NOT NULL,
	`metadata` text NOT NULL,
	`last_event_created` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `refunds_stripe_unique` ON `refunds` (`stripe_refund_id`);--> statement-breakpoint
CREATE INDEX `refunds_tenant_created_idx` ON `refunds` (`tenant_id`,`livemode`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `refunds_invoice_idx` ON `refunds` (`invoice_id`);--> statement-breakpoint
CREATE INDEX `invoices_payment_intent_idx` ON `invoices` (`payment_intent_id`);