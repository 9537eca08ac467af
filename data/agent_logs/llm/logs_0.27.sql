-- Rows an llm 0.27 user's logs.db holds (on top of schema_0.27.sql): what llm's Response.log_to_db writes for
-- three conversations, invented for behest_lab's tests. Token counts are as each model plugin records them:
-- the OpenAI plugin's input_tokens is prompt_tokens (cached tokens INSIDE, prompt_tokens_details.cached_tokens in
-- token_details); llm-anthropic's input_tokens excludes the cache (cache_creation_input_tokens and
-- cache_read_input_tokens in token_details); llm-gemini's output_tokens is candidates + thoughts.
-- Two rows of the pre-0.5 `logs` table, which behest_lab does not read (it counts them).
INSERT INTO "logs" VALUES (1, 'gpt-3.5-turbo', 'Ten names for a cat', NULL, NULL, NULL, 'Tom, ...', NULL, NULL, NULL, 1200, '2023-05-01T09:00:00');
INSERT INTO "logs" VALUES (2, 'gpt-3.5-turbo', 'Ten more', NULL, NULL, NULL, 'Felix, ...', NULL, 1, 1, 900, '2023-05-01T09:01:00');
-- Conversation 1: gpt-4o-mini with a tool; one call fails, the last call is never answered (the chain was stopped),
-- and its tool_call_id repeats an earlier one (the provider numbers calls per request).
INSERT INTO "conversations" VALUES ('01jwx4k7m2c1weather00000001', 'What''s the weather in Lisbon and Porto?', 'gpt-4o-mini');
INSERT INTO "tools" VALUES (1, '5d2a9c0e7b4f1a3c6e8d0b2f4a6c8e0a1b3d5f7092e4c6a8b0d2f4e6a8c0b2d4', 'get_weather', 'Current weather for a city', '{"properties": {"city": {"type": "string"}, "day": {"type": "string"}}, "required": ["city"], "type": "object"}', NULL);
INSERT INTO "responses" ("id", "model", "prompt", "system", "prompt_json", "options_json", "response", "response_json", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "schema_id", "resolved_model")
  VALUES ('01jwx4k7m3r1000000000000r1', 'gpt-4o-mini', 'What''s the weather in Lisbon and Porto?', 'You are a terse assistant.', NULL, '{}', '', NULL, '01jwx4k7m2c1weather00000001', 900, '2025-06-01T10:00:00.000000+00:00', 120, 40, NULL, NULL, 'gpt-4o-mini-2024-07-18');
INSERT INTO "tool_responses" VALUES (1, '01jwx4k7m3r1000000000000r1');
INSERT INTO "tool_calls" VALUES (1, '01jwx4k7m3r1000000000000r1', 1, 'get_weather', '{"city": "Lisbon"}', 'call_1');
INSERT INTO "tool_calls" VALUES (2, '01jwx4k7m3r1000000000000r1', 1, 'get_weather', '{"city": "Porto"}', 'call_2');
INSERT INTO "responses" ("id", "model", "prompt", "system", "prompt_json", "options_json", "response", "response_json", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "schema_id", "resolved_model")
  VALUES ('01jwx4k7m3r2000000000000r2', 'gpt-4o-mini', '', 'You are a terse assistant.', NULL, '{}', 'Lisbon: 24°C and sunny. Porto: the weather service timed out.', NULL, '01jwx4k7m2c1weather00000001', 700, '2025-06-01T10:00:02.500000+00:00', 210, 30, '{"prompt_tokens_details": {"cached_tokens": 128}}', NULL, 'gpt-4o-mini-2024-07-18');
INSERT INTO "tool_responses" VALUES (1, '01jwx4k7m3r2000000000000r2');
INSERT INTO "tool_results" VALUES (1, '01jwx4k7m3r2000000000000r2', 1, 'get_weather', '24°C, sunny', 'call_1', NULL, NULL);
INSERT INTO "tool_results" VALUES (2, '01jwx4k7m3r2000000000000r2', 1, 'get_weather', 'Error: TimeoutError: upstream timed out', 'call_2', NULL, 'TimeoutError: upstream timed out');
INSERT INTO "responses" ("id", "model", "prompt", "system", "prompt_json", "options_json", "response", "response_json", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "schema_id", "resolved_model")
  VALUES ('01jwx4k7m3r3000000000000r3', 'gpt-4o-mini', 'And tomorrow in Lisbon?', 'You are a terse assistant.', NULL, '{}', 'Let me check.', NULL, '01jwx4k7m2c1weather00000001', 800, '2025-06-01T10:01:00.000000+00:00', 260, 25, '{"prompt_tokens_details": {"cached_tokens": 256}, "completion_tokens_details": {"reasoning_tokens": 0}}', NULL, 'gpt-4o-mini-2024-07-18');
INSERT INTO "tool_responses" VALUES (1, '01jwx4k7m3r3000000000000r3');
INSERT INTO "tool_calls" VALUES (3, '01jwx4k7m3r3000000000000r3', 1, 'get_weather', '{"city": "Lisbon", "day": "tomorrow"}', 'call_1');
-- Conversation 2: Claude through llm-anthropic with prompt caching (-o cache 1), a fragment (-f add.py) and a
-- system prompt with a system fragment (-s 'Be brief.' --sf style.md);
-- the first call writes the cache, the second reads it.
INSERT INTO "fragments" VALUES (1, 'c3f1b0a2e4d6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081', 'def add(a, b):
    return a + b
', '2025-06-02T09:00:00.000000+00:00', 'add.py');
INSERT INTO "conversations" VALUES ('01jwz0a1b2c2claude000000002', 'Summarise this file', 'anthropic/claude-3-5-sonnet-latest');
INSERT INTO "fragments" VALUES (3, '0d4c3b2a19f8e7d6c5b4a39281f7e6d5c4b3a2910f8e7d6c5b4a39281f7e6d5c', 'Answer in one sentence.
', '2025-06-02T09:00:00.000000+00:00', 'style.md');
INSERT INTO "responses" ("id", "model", "prompt", "system", "prompt_json", "options_json", "response", "response_json", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "schema_id", "resolved_model")
  VALUES ('01jwz0a1b2r4000000000000r4', 'anthropic/claude-3-5-sonnet-latest', 'Summarise this file', 'Be brief.', NULL, '{"cache": true}', 'It defines add(a, b), which returns the sum.', NULL, '01jwz0a1b2c2claude000000002', 2100, '2025-06-02T09:00:00.000000+00:00', 15, 12, '{"cache_creation_input_tokens": 1800, "cache_read_input_tokens": 0, "service_tier": "standard"}', NULL, NULL);
INSERT INTO "prompt_fragments" VALUES ('01jwz0a1b2r4000000000000r4', 1, 0);
INSERT INTO "system_fragments" VALUES ('01jwz0a1b2r4000000000000r4', 3, 0);
INSERT INTO "responses" ("id", "model", "prompt", "system", "prompt_json", "options_json", "response", "response_json", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "schema_id", "resolved_model")
  VALUES ('01jwz0a1b2r5000000000000r5', 'anthropic/claude-3-5-sonnet-latest', 'Any bugs?', 'Be brief.', NULL, '{"cache": true}', 'No bugs.', NULL, '01jwz0a1b2c2claude000000002', 1200, '2025-06-02T09:01:00.000000+00:00', 9, 5, '{"cache_creation_input_tokens": 0, "cache_read_input_tokens": 1800, "service_tier": "standard"}', NULL, NULL);
INSERT INTO "prompt_fragments" VALUES ('01jwz0a1b2r5000000000000r5', 1, 0);
INSERT INTO "system_fragments" VALUES ('01jwz0a1b2r5000000000000r5', 3, 0);
-- Conversation 3: Gemini through llm-gemini (model id without a plugin prefix), with an image attachment.
INSERT INTO "conversations" VALUES ('01jx1c2d3e4c3gemini0000003', 'Name three primes', 'gemini-2.5-flash');
INSERT INTO "responses" ("id", "model", "prompt", "system", "prompt_json", "options_json", "response", "response_json", "conversation_id", "duration_ms", "datetime_utc", "input_tokens", "output_tokens", "token_details", "schema_id", "resolved_model")
  VALUES ('01jx1c2d3e4r6000000000000r6', 'gemini-2.5-flash', 'Name three primes', NULL, NULL, '{}', '2, 3, 5', NULL, '01jx1c2d3e4c3gemini0000003', 1800, '2025-06-03T15:30:00.000000+00:00', 8, 64, '{"candidatesTokenCount": 6, "thoughtsTokenCount": 58, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]}', NULL, NULL);
INSERT INTO "attachments" VALUES ('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'image/png', '/home/dev/primes.png', NULL, NULL);
INSERT INTO "prompt_attachments" VALUES ('01jx1c2d3e4r6000000000000r6', '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 0);
