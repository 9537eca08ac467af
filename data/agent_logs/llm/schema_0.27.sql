-- The tables of an llm 0.27 logs.db: what llm/migrations.py m001 to m021 leave, one statement per table,
-- index or trigger, in the order the migrations create them (written for behest_lab's tests, not copied).
-- m009 keeps the pre-0.5 `logs` table only when someone had put data in it, as this file's user had.
CREATE TABLE "_llm_migrations" (
   "name" TEXT PRIMARY KEY,
   "applied_at" TEXT
);
CREATE TABLE "logs" (
   "id" INTEGER PRIMARY KEY,
   "model" TEXT,
   "prompt" TEXT,
   "system" TEXT,
   "prompt_json" TEXT,
   "options_json" TEXT,
   "response" TEXT,
   "response_json" TEXT,
   "reply_to_id" INTEGER REFERENCES "logs"("id"),
   "chat_id" INTEGER,
   "duration_ms" INTEGER,
   "datetime_utc" TEXT
);
CREATE TABLE "conversations" (
   "id" TEXT PRIMARY KEY,
   "name" TEXT,
   "model" TEXT
);
CREATE TABLE "schemas" (
   "id" TEXT PRIMARY KEY,
   "content" TEXT
);
CREATE TABLE "responses" (
   "id" TEXT PRIMARY KEY,
   "model" TEXT,
   "prompt" TEXT,
   "system" TEXT,
   "prompt_json" TEXT,
   "options_json" TEXT,
   "response" TEXT,
   "response_json" TEXT,
   "conversation_id" TEXT REFERENCES "conversations"("id"),
   "duration_ms" INTEGER,
   "datetime_utc" TEXT,
   "input_tokens" INTEGER,
   "output_tokens" INTEGER,
   "token_details" TEXT,
   "schema_id" TEXT REFERENCES "schemas"("id"),
   "resolved_model" TEXT
);
CREATE VIRTUAL TABLE "responses_fts" USING FTS5 (
   "prompt",
   "response",
   content="responses"
);
CREATE TRIGGER "responses_ai" AFTER INSERT ON "responses" BEGIN
  INSERT INTO "responses_fts" (rowid, "prompt", "response") VALUES (new.rowid, new."prompt", new."response");
END;
CREATE TRIGGER "responses_ad" AFTER DELETE ON "responses" BEGIN
  INSERT INTO "responses_fts" ("responses_fts", rowid, "prompt", "response")
    VALUES ('delete', old.rowid, old."prompt", old."response");
END;
CREATE TRIGGER "responses_au" AFTER UPDATE ON "responses" BEGIN
  INSERT INTO "responses_fts" ("responses_fts", rowid, "prompt", "response")
    VALUES ('delete', old.rowid, old."prompt", old."response");
  INSERT INTO "responses_fts" (rowid, "prompt", "response") VALUES (new.rowid, new."prompt", new."response");
END;
CREATE TABLE "attachments" (
   "id" TEXT PRIMARY KEY,
   "type" TEXT,
   "path" TEXT,
   "url" TEXT,
   "content" BLOB
);
CREATE TABLE "prompt_attachments" (
   "response_id" TEXT REFERENCES "responses"("id"),
   "attachment_id" TEXT REFERENCES "attachments"("id"),
   "order" INTEGER,
   PRIMARY KEY ("response_id", "attachment_id")
);
CREATE TABLE "fragments" (
   "id" INTEGER PRIMARY KEY,
   "hash" TEXT,
   "content" TEXT,
   "datetime_utc" TEXT,
   "source" TEXT
);
CREATE UNIQUE INDEX "idx_fragments_hash" ON "fragments" ("hash");
CREATE TABLE "fragment_aliases" (
   "alias" TEXT PRIMARY KEY,
   "fragment_id" INTEGER REFERENCES "fragments"("id")
);
CREATE TABLE "prompt_fragments" (
   "response_id" TEXT REFERENCES "responses"("id"),
   "fragment_id" INTEGER REFERENCES "fragments"("id"),
   "order" INTEGER,
   PRIMARY KEY ("response_id", "fragment_id", "order")
);
CREATE TABLE "system_fragments" (
   "response_id" TEXT REFERENCES "responses"("id"),
   "fragment_id" INTEGER REFERENCES "fragments"("id"),
   "order" INTEGER,
   PRIMARY KEY ("response_id", "fragment_id", "order")
);
CREATE TABLE "tools" (
   "id" INTEGER PRIMARY KEY,
   "hash" TEXT,
   "name" TEXT,
   "description" TEXT,
   "input_schema" TEXT,
   "plugin" TEXT
);
CREATE UNIQUE INDEX "idx_tools_hash" ON "tools" ("hash");
CREATE TABLE "tool_responses" (
   "tool_id" INTEGER REFERENCES "tools"("id"),
   "response_id" TEXT REFERENCES "responses"("id"),
   PRIMARY KEY ("tool_id", "response_id")
);
CREATE TABLE "tool_calls" (
   "id" INTEGER PRIMARY KEY,
   "response_id" TEXT REFERENCES "responses"("id"),
   "tool_id" INTEGER REFERENCES "tools"("id"),
   "name" TEXT,
   "arguments" TEXT,
   "tool_call_id" TEXT
);
CREATE TABLE "tool_instances" (
   "id" INTEGER PRIMARY KEY,
   "plugin" TEXT,
   "name" TEXT,
   "arguments" TEXT
);
CREATE TABLE "tool_results" (
   "id" INTEGER PRIMARY KEY,
   "response_id" TEXT REFERENCES "responses"("id"),
   "tool_id" INTEGER REFERENCES "tools"("id"),
   "name" TEXT,
   "output" TEXT,
   "tool_call_id" TEXT,
   "instance_id" INTEGER REFERENCES "tool_instances"("id"),
   "exception" TEXT
);
CREATE TABLE "tool_results_attachments" (
   "tool_result_id" INTEGER REFERENCES "tool_results"("id"),
   "attachment_id" TEXT REFERENCES "attachments"("id"),
   "order" INTEGER,
   PRIMARY KEY ("tool_result_id", "attachment_id")
);
-- migrate() records each migration it ran
INSERT INTO "_llm_migrations" VALUES ('m001_initial', '2024-03-04 10:00:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m002_id_primary_key', '2024-03-04 10:01:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m003_chat_id_foreign_key', '2024-03-04 10:02:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m004_column_order', '2024-03-04 10:03:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m004_drop_provider', '2024-03-04 10:04:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m005_debug', '2024-03-04 10:05:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m006_new_logs_table', '2024-03-04 10:06:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m007_finish_logs_table', '2024-03-04 10:07:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m008_reply_to_id_foreign_key', '2024-03-04 10:08:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m008_fix_column_order_in_logs', '2024-03-04 10:09:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m009_delete_logs_table_if_empty', '2024-03-04 10:10:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m010_create_new_log_tables', '2024-03-04 10:11:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m011_fts_for_responses', '2024-03-04 10:12:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m012_attachments_tables', '2024-03-04 10:13:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m013_usage', '2024-03-04 10:14:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m014_schemas', '2024-03-04 10:15:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m015_fragments_tables', '2024-03-04 10:16:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m016_fragments_table_pks', '2024-03-04 10:17:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m017_tools_tables', '2024-03-04 10:18:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m017_tools_plugin', '2024-03-04 10:19:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m018_tool_instances', '2024-03-04 10:20:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m019_resolved_model', '2024-03-04 10:21:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m020_tool_results_attachments', '2024-03-04 10:22:00.000000+00:00');
INSERT INTO "_llm_migrations" VALUES ('m021_tool_results_exception', '2024-03-04 10:23:00.000000+00:00');
