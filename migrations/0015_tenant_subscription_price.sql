ALTER TABLE `tenant_subscriptions` ADD `price_cents` integer;--> statement-breakpoint
ALTER TABLE `tenant_subscriptions` ADD `price_currency` text;--> statement-breakpoint
ALTER TABLE `tenant_subscriptions` ADD `price_interval` text;