CREATE TABLE `platform_plans` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`tier` text NOT NULL,
	`price_cents` integer NOT NULL,
	`currency` text DEFAULT 'usd' NOT NULL,
	`billing_interval` text NOT NULL,
	`limits` text NOT NULL,
	`is_active` integer DEFAULT true NOT NULL,
	`stripe_product_id` text,
	`stripe_price_id` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stripe_events` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint` text NOT NULL,
	`type` text NOT NULL,
	`account` text,
	`livemode` integer NOT NULL,
	`created` integer NOT NULL,
	`payload` text NOT NULL,
	`tenant_id` text,
	`status` text DEFAULT 'received' NOT NULL,
	`outcome` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`received_at` integer NOT NULL,
	`processed_at` integer
);
--> statement-breakpoint
CREATE INDEX `stripe_events_status_idx` ON `stripe_events` (`status`,`received_at`);--> statement-breakpoint
CREATE INDEX `stripe_events_tenant_idx` ON `stripe_events` (`tenant_id`,`created`);--> statement-breakpoint
CREATE TABLE `tenant_subscriptions` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`plan_id` text,
	`stripe_customer_id` text,
	`stripe_subscription_id` text,
	`status` text DEFAULT 'none' NOT NULL,
	`current_period_start` integer,
	`current_period_end` integer,
	`trial_end` integer,
	`cancel_at_period_end` integer DEFAULT false NOT NULL,
	`last_event_created` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `tenant_subscriptions_customer_idx` ON `tenant_subscriptions` (`stripe_customer_id`);--> statement-breakpoint
CREATE INDEX `tenant_subscriptions_subscription_idx` ON `tenant_subscriptions` (`stripe_subscription_id`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `limits` text;