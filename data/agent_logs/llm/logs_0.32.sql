-- Rows of a logs.db that llm 0.27 wrote and llm 0.32 went on writing (on top of schema_0.27.sql and
-- migrate_0.32.sql), invented for behest_lab's tests. Four conversations:
-- * a legacy conversation (a `responses` row) continued after the upgrade: its thread has the conversation's id
--   and its chain starts with the earlier exchange re-sent, then the new turn;
-- * a call an llm 0.32 alpha logged in both generations: a `responses` row and a `turns` row with the same id;
-- * a thread with tools on Claude (cache writes and reads beside input_tokens), a tool result with an exception,
--   a prompt that borrows a fragment (text_ref) and a part type from a newer llm;
-- * a fork of that thread: a second thread pointing into the same messages, with one turn of its own.
-- 1. Before the upgrade (llm 0.27): one response.
INSERT INTO "conversations" VALUES ('01k0a1b2c3c4haiku000000004', 'Draft a haiku about tea', 'gpt-4.1-mini');
INSERT INTO "responses" ("id", "model", "prompt", "system", "options_json", "response", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "resolved_model")
  VALUES ('01k0a1b2c3r7000000000000r7', 'gpt-4.1-mini', 'Draft a haiku about tea', NULL, '{}', 'Steam curls from the cup
leaves unfurl in amber light
the kettle falls still', '01k0a1b2c3c4haiku000000004', 1500, '2025-09-01T08:00:00.000000+00:00', 14, 20, NULL, 'gpt-4.1-mini-2025-04-14');
--    After it (llm 0.32, `llm -c`): the thread reuses the conversation id; the chain re-sends the first exchange.
INSERT INTO "messages" VALUES ('b2:7431160d65c1010c5e92d398569d1266', NULL, 'user', NULL);
INSERT INTO "parts" VALUES (1, 'b2:7431160d65c1010c5e92d398569d1266', 0, 'text', NULL, 'Draft a haiku about tea', NULL);
INSERT INTO "messages" VALUES ('b2:dcf4213271bc7324b6fa5a818c9b3de9', 'b2:7431160d65c1010c5e92d398569d1266', 'assistant', NULL);
INSERT INTO "parts" VALUES (2, 'b2:dcf4213271bc7324b6fa5a818c9b3de9', 0, 'text', NULL, 'Steam curls from the cup
leaves unfurl in amber light
the kettle falls still', NULL);
INSERT INTO "messages" VALUES ('b2:823208af586bb30382b51d72ff6cb770', 'b2:dcf4213271bc7324b6fa5a818c9b3de9', 'user', NULL);
INSERT INTO "parts" VALUES (3, 'b2:823208af586bb30382b51d72ff6cb770', 0, 'text', NULL, 'Now one about coffee', NULL);
INSERT INTO "messages" VALUES ('b2:14f659381844ba682cf7bf2b067304b0', 'b2:823208af586bb30382b51d72ff6cb770', 'assistant', NULL);
INSERT INTO "parts" VALUES (4, 'b2:14f659381844ba682cf7bf2b067304b0', 0, 'text', NULL, 'Dark roast at dawn
bitter warmth in both my hands
the day starts to hum', NULL);
INSERT INTO "threads" VALUES ('01k0a1b2c3c4haiku000000004', 'Draft a haiku about tea', 'b2:14f659381844ba682cf7bf2b067304b0', NULL, '2025-09-02T08:00:00.000000+00:00');
INSERT INTO "turns" VALUES ('01k0b5c6d7t1000000000000t1', '01k0a1b2c3c4haiku000000004', 'b2:823208af586bb30382b51d72ff6cb770', 'b2:14f659381844ba682cf7bf2b067304b0', 'gpt-4.1-mini', 'gpt-4.1-mini-2025-04-14', '{}', NULL, 40, 18, NULL, 1000, '2025-09-02T08:00:00.000000+00:00');
-- 2. Logged by an llm 0.32 alpha in both generations: the response and the turn are the same call.
INSERT INTO "conversations" VALUES ('01k0c0ffeec5ping0000000005', 'ping', 'gpt-4o-mini');
INSERT INTO "responses" ("id", "model", "prompt", "system", "options_json", "response", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "resolved_model")
  VALUES ('01k0c0ffeet2000000000000t2', 'gpt-4o-mini', 'ping', NULL, '{}', 'pong', '01k0c0ffeec5ping0000000005', 300, '2025-09-02T09:00:00.000000+00:00', 5, 1, NULL, 'gpt-4o-mini-2024-07-18');
INSERT INTO "messages" VALUES ('b2:20771183b4d288e2680f0ad9c18f84d1', NULL, 'user', NULL);
INSERT INTO "parts" VALUES (5, 'b2:20771183b4d288e2680f0ad9c18f84d1', 0, 'text', NULL, 'ping', NULL);
INSERT INTO "messages" VALUES ('b2:2cbf252aeeab16b821d3969c1d4f1b5f', 'b2:20771183b4d288e2680f0ad9c18f84d1', 'assistant', NULL);
INSERT INTO "parts" VALUES (6, 'b2:2cbf252aeeab16b821d3969c1d4f1b5f', 0, 'text', NULL, 'pong', NULL);
INSERT INTO "threads" VALUES ('01k0c0ffeec5ping0000000005', 'ping', 'b2:2cbf252aeeab16b821d3969c1d4f1b5f', NULL, '2025-09-02T09:00:00.000000+00:00');
INSERT INTO "turns" VALUES ('01k0c0ffeet2000000000000t2', '01k0c0ffeec5ping0000000005', 'b2:20771183b4d288e2680f0ad9c18f84d1', 'b2:2cbf252aeeab16b821d3969c1d4f1b5f', 'gpt-4o-mini', 'gpt-4o-mini-2024-07-18', '{}', NULL, 5, 1, NULL, 300, '2025-09-02T09:00:00.000000+00:00');
-- 3. A thread with a tool on Claude (llm-anthropic, -o cache 1, -f host.txt).
INSERT INTO "tools" VALUES (2, '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9', 'run', 'Run a shell command', '{"properties": {"cmd": {"type": "string"}}, "required": ["cmd"], "type": "object"}', NULL);
INSERT INTO "fragments" VALUES (2, '7e2c0d4b9a8f6e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4', 'Host: build-01 (Debian 12)', '2025-09-03T12:00:00.000000+00:00', 'host.txt');
INSERT INTO "messages" VALUES ('b2:540daf00197767d024e1aee3c7b9cfdf', NULL, 'system', NULL);
INSERT INTO "parts" VALUES (7, 'b2:540daf00197767d024e1aee3c7b9cfdf', 0, 'text', NULL, 'You can run shell commands with the run tool.', NULL);
INSERT INTO "messages" VALUES ('b2:53199585bddea28e67fe7143a42baef7', 'b2:540daf00197767d024e1aee3c7b9cfdf', 'user', NULL);
INSERT INTO "parts" VALUES (8, 'b2:53199585bddea28e67fe7143a42baef7', 0, 'text', NULL, NULL, '{"text_ref": [{"literal": "How much disk is free?\n"}, {"fragment": 2}]}');
INSERT INTO "part_fragments" VALUES (8, 2, 0);
INSERT INTO "messages" VALUES ('b2:564cb76e2b3a0695ba760a0ba263d8bf', 'b2:53199585bddea28e67fe7143a42baef7', 'assistant', NULL);
INSERT INTO "parts" VALUES (9, 'b2:564cb76e2b3a0695ba760a0ba263d8bf', 0, 'reasoning', NULL, 'The user wants free space; df will tell.', NULL);
INSERT INTO "parts" VALUES (10, 'b2:564cb76e2b3a0695ba760a0ba263d8bf', 1, 'tool_call', 'run', NULL, '{"name": "run", "arguments": {"cmd": "df -h /"}, "tool_call_id": "toolu_01"}');
INSERT INTO "messages" VALUES ('b2:8c97518621991a8a21fe6a33b746d838', 'b2:564cb76e2b3a0695ba760a0ba263d8bf', 'user', NULL);
INSERT INTO "parts" VALUES (11, 'b2:8c97518621991a8a21fe6a33b746d838', 0, 'tool_result', 'run', NULL, '{"name": "run", "output": "Filesystem Size Used Avail\n/dev/sda1 100G 60G 40G", "tool_call_id": "toolu_01"}');
INSERT INTO "messages" VALUES ('b2:3d28f3ab9f322293588973a352d89a0a', 'b2:8c97518621991a8a21fe6a33b746d838', 'assistant', NULL);
INSERT INTO "parts" VALUES (12, 'b2:3d28f3ab9f322293588973a352d89a0a', 0, 'text', NULL, '40G free on /.', NULL);
INSERT INTO "parts" VALUES (13, 'b2:3d28f3ab9f322293588973a352d89a0a', 1, 'citation', NULL, NULL, '{"url": "file:///"}');
INSERT INTO "messages" VALUES ('b2:4bf970a1520b3d4b78f3e157b1dd47d9', 'b2:3d28f3ab9f322293588973a352d89a0a', 'user', NULL);
INSERT INTO "parts" VALUES (14, 'b2:4bf970a1520b3d4b78f3e157b1dd47d9', 0, 'text', NULL, 'Delete /var/cache/apt', NULL);
INSERT INTO "messages" VALUES ('b2:abc3867f026c1358b50a37222e9229c1', 'b2:4bf970a1520b3d4b78f3e157b1dd47d9', 'assistant', NULL);
INSERT INTO "parts" VALUES (15, 'b2:abc3867f026c1358b50a37222e9229c1', 0, 'tool_call', 'run', NULL, '{"name": "run", "arguments": {"cmd": "rm -rf /var/cache/apt"}, "tool_call_id": "toolu_02"}');
INSERT INTO "messages" VALUES ('b2:47f3a64b3095c9d89330a2b8813c83a7', 'b2:abc3867f026c1358b50a37222e9229c1', 'user', NULL);
INSERT INTO "parts" VALUES (16, 'b2:47f3a64b3095c9d89330a2b8813c83a7', 0, 'tool_result', 'run', NULL, '{"name": "run", "output": "Error: PermissionError: [Errno 13] Permission denied", "tool_call_id": "toolu_02", "exception": "PermissionError: [Errno 13] Permission denied"}');
INSERT INTO "messages" VALUES ('b2:38c3afae41465e9135566bac5b4f1df0', 'b2:47f3a64b3095c9d89330a2b8813c83a7', 'assistant', NULL);
INSERT INTO "parts" VALUES (17, 'b2:38c3afae41465e9135566bac5b4f1df0', 0, 'text', NULL, 'I could not delete it: permission denied.', NULL);
INSERT INTO "threads" VALUES ('01k0d1e2f3c6disk0000000006', 'How much disk is free?', 'b2:38c3afae41465e9135566bac5b4f1df0', NULL, '2025-09-03T12:00:00.000000+00:00');
INSERT INTO "turns" VALUES ('01k0d1e2f3t3000000000000t3', '01k0d1e2f3c6disk0000000006', 'b2:53199585bddea28e67fe7143a42baef7', 'b2:564cb76e2b3a0695ba760a0ba263d8bf', 'anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', '{}', NULL, 50, 30, '{"cache_creation_input_tokens": 2048, "cache_read_input_tokens": 0, "service_tier": "standard"}', 3000, '2025-09-03T12:00:00.000000+00:00');
INSERT INTO "turn_tools" VALUES ('01k0d1e2f3t3000000000000t3', 2);
INSERT INTO "turns" VALUES ('01k0d1e2f3t4000000000000t4', '01k0d1e2f3c6disk0000000006', 'b2:8c97518621991a8a21fe6a33b746d838', 'b2:3d28f3ab9f322293588973a352d89a0a', 'anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', '{}', NULL, 30, 12, '{"cache_creation_input_tokens": 90, "cache_read_input_tokens": 2048, "service_tier": "standard"}', 2000, '2025-09-03T12:00:05.000000+00:00');
INSERT INTO "turn_tools" VALUES ('01k0d1e2f3t4000000000000t4', 2);
INSERT INTO "turns" VALUES ('01k0d1e2f3t5000000000000t5', '01k0d1e2f3c6disk0000000006', 'b2:4bf970a1520b3d4b78f3e157b1dd47d9', 'b2:abc3867f026c1358b50a37222e9229c1', 'anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', '{}', NULL, 12, 25, '{"cache_creation_input_tokens": 0, "cache_read_input_tokens": 2138, "service_tier": "standard"}', 2500, '2025-09-03T12:05:00.000000+00:00');
INSERT INTO "turn_tools" VALUES ('01k0d1e2f3t5000000000000t5', 2);
INSERT INTO "turns" VALUES ('01k0d1e2f3t6000000000000t6', '01k0d1e2f3c6disk0000000006', 'b2:47f3a64b3095c9d89330a2b8813c83a7', 'b2:38c3afae41465e9135566bac5b4f1df0', 'anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', '{}', NULL, 40, 15, '{"cache_creation_input_tokens": 60, "cache_read_input_tokens": 2138, "service_tier": "standard"}', 1500, '2025-09-03T12:05:04.000000+00:00');
INSERT INTO "turn_tools" VALUES ('01k0d1e2f3t6000000000000t6', 2);
INSERT INTO "turn_fragments" VALUES ('01k0d1e2f3t3000000000000t3', 2, 0, 'prompt');
-- 4. A fork of thread 3 after its first answer (`llm` forking at the message '40G free on /.').
INSERT INTO "messages" VALUES ('b2:d3f45fef4a702da15e619d2bd057bd70', 'b2:3d28f3ab9f322293588973a352d89a0a', 'user', NULL);
INSERT INTO "parts" VALUES (18, 'b2:d3f45fef4a702da15e619d2bd057bd70', 0, 'text', NULL, 'Which filesystem is it?', NULL);
INSERT INTO "messages" VALUES ('b2:6e76153cb05348257cb9bfe9f07abc02', 'b2:d3f45fef4a702da15e619d2bd057bd70', 'assistant', NULL);
INSERT INTO "parts" VALUES (19, 'b2:6e76153cb05348257cb9bfe9f07abc02', 0, 'text', NULL, 'ext4.', NULL);
INSERT INTO "threads" VALUES ('01k0e9f8a7c7fork0000000007', 'Which filesystem is it?', 'b2:6e76153cb05348257cb9bfe9f07abc02', '01k0d1e2f3c6disk0000000006', '2025-09-03T13:00:00.000000+00:00');
INSERT INTO "turns" VALUES ('01k0e9f8a7t7000000000000t7', '01k0e9f8a7c7fork0000000007', 'b2:d3f45fef4a702da15e619d2bd057bd70', 'b2:6e76153cb05348257cb9bfe9f07abc02', 'anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5-20250929', '{}', NULL, 20, 4, '{"cache_creation_input_tokens": 0, "cache_read_input_tokens": 2048, "service_tier": "standard"}', 900, '2025-09-03T13:00:10.000000+00:00');
