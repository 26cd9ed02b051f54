CREATE TABLE `connect_states_used` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`used_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `plans` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`price_cents` integer NOT NULL,
	`currency` text NOT NULL,
	`billing_interval` text NOT NULL,
	`trial_days` integer DEFAULT 0 NOT NULL,
	`features` text NOT NULL,
	`metadata` text NOT NULL,
	`is_active` integer DEFAULT true NOT NULL,
	`is_visible` integer DEFAULT true NOT NULL,
	`livemode` integer NOT NULL,
	`stripe_product_id` text NOT NULL,
	`stripe_price_id` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `plans_tenant_name_unique` ON `plans` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `plans_tenant_active_idx` ON `plans` (`tenant_id`,`is_active`);--> statement-breakpoint
CREATE INDEX `plans_tenant_interval_idx` ON `plans` (`tenant_id`,`billing_interval`);--> statement-breakpoint
CREATE INDEX `plans_tenant_created_idx` ON `plans` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `plans_stripe_product_idx` ON `plans` (`stripe_product_id`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `stripe_connect_flow` text;