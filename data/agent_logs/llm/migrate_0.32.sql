-- What llm/migrations.py m022 to m031 do to an llm 0.27 logs.db (schema_0.27.sql) on the upgrade to llm 0.32,
-- one statement per change (written for behest_lab's tests, not copied). The legacy tables stay as they are;
-- new logging goes to the content-addressed tables. m023's first form of these tables shipped only in alphas and
-- m024 dropped and recreated them, so only m024's form is here.
ALTER TABLE "responses" ADD COLUMN "reasoning" TEXT;
CREATE TABLE "messages" (
   "hash" TEXT PRIMARY KEY,
   "parent_hash" TEXT REFERENCES "messages"("hash"),
   "role" TEXT,
   "provider_metadata" TEXT
);
CREATE INDEX "idx_messages_parent_hash" ON "messages" ("parent_hash");
CREATE TABLE "parts" (
   "id" INTEGER PRIMARY KEY,
   "message_hash" TEXT REFERENCES "messages"("hash"),
   "position" INTEGER,
   "type" TEXT,
   "tool_name" TEXT,
   "text" TEXT,
   "payload" TEXT
);
CREATE UNIQUE INDEX "idx_parts_message_hash_position" ON "parts" ("message_hash", "position");
CREATE TABLE "part_attachments" (
   "part_id" INTEGER REFERENCES "parts"("id"),
   "attachment_id" TEXT REFERENCES "attachments"("id"),
   "order" INTEGER,
   PRIMARY KEY ("part_id", "attachment_id")
);
CREATE TABLE "part_fragments" (
   "part_id" INTEGER REFERENCES "parts"("id"),
   "fragment_id" INTEGER REFERENCES "fragments"("id"),
   "order" INTEGER,
   PRIMARY KEY ("part_id", "fragment_id", "order")
);
CREATE INDEX "idx_part_fragments_fragment_id" ON "part_fragments" ("fragment_id");
CREATE TABLE "threads" (
   "id" TEXT PRIMARY KEY,
   "name" TEXT,
   "tip_message_hash" TEXT REFERENCES "messages"("hash"),
   "forked_from" TEXT REFERENCES "threads"("id"),
   "datetime_utc" TEXT
);
CREATE TABLE "turns" (
   "id" TEXT PRIMARY KEY,
   "thread_id" TEXT REFERENCES "threads"("id"),
   "parent_message_hash" TEXT REFERENCES "messages"("hash"),
   "tip_message_hash" TEXT REFERENCES "messages"("hash"),
   "model" TEXT,
   "resolved_model" TEXT,
   "options_json" TEXT,
   "schema_id" TEXT REFERENCES "schemas"("id"),
   "input_tokens" INTEGER,
   "output_tokens" INTEGER,
   "token_details" TEXT,
   "duration_ms" INTEGER,
   "datetime_utc" TEXT
);
CREATE INDEX "idx_turns_thread_id" ON "turns" ("thread_id");
CREATE TABLE "turn_tools" (
   "turn_id" TEXT REFERENCES "turns"("id"),
   "tool_id" INTEGER REFERENCES "tools"("id"),
   PRIMARY KEY ("turn_id", "tool_id")
);
CREATE TABLE "turn_fragments" (
   "turn_id" TEXT REFERENCES "turns"("id"),
   "fragment_id" INTEGER REFERENCES "fragments"("id"),
   "order" INTEGER,
   "kind" TEXT,
   PRIMARY KEY ("turn_id", "fragment_id", "kind", "order")
);
CREATE INDEX "idx_turn_fragments_fragment_id" ON "turn_fragments" ("fragment_id");
CREATE TABLE "turn_search" (
   "id" INTEGER PRIMARY KEY,
   "turn_id" TEXT REFERENCES "turns"("id"),
   "prompt" TEXT,
   "response" TEXT
);
CREATE UNIQUE INDEX "idx_turn_search_turn_id" ON "turn_search" ("turn_id");
CREATE VIRTUAL TABLE "turn_search_fts" USING FTS5 (
   "prompt",
   "response",
   content="turn_search"
);
CREATE TABLE "tool_instantiations" (
   "tool_call_id" TEXT,
   "name" TEXT,
   "plugin" TEXT,
   "arguments" TEXT,
   "turn_id" TEXT,
   PRIMARY KEY ("turn_id", "tool_call_id")
);
-- migrate() records each migration it ran
INSERT INTO "_llm_migrations" VALUES ('m022_response_reasoning', '2025-09-02 07:00:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m023_content_addressed_messages', '2025-09-02 07:01:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m024_message_store_payloads', '2025-09-02 07:02:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m025_turn_search', '2025-09-02 07:03:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m027_parts_text_column', '2025-09-02 07:04:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m028_tool_instantiations', '2025-09-02 07:05:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m029_rehash_messages', '2025-09-02 07:06:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m030_tool_instantiations_turn_scope', '2025-09-02 07:07:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m031_turn_fragments_order_pk', '2025-09-02 07:08:00.000000+00:00');
