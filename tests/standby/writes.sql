\set VERBOSITY verbose
SELECT vigil.evaluate('a_weather');
SELECT vigil.mark_window('a_weather', '2013-07-04', valid => false);
SELECT vigil.expect_not_null('g', 'tag');
SELECT vigil.watch('g');
SELECT vigil.acknowledge(1);
INSERT INTO g VALUES (1, 0.5, 't');
