CREATE TABLE `edge_key_debts` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`debt_id` text NOT NULL,
	`owed_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
