DROP INDEX `tenants_stripe_account_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_stripe_account_unique` ON `tenants` (`stripe_connect_account_id`);--> statement-breakpoint
ALTER TABLE `platform_plans` ADD `trial_days` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `tenant_subscriptions` ADD `trial_used_at` integer;--> statement-breakpoint
ALTER TABLE `webhook_events` ADD `is_test` integer DEFAULT false NOT NULL;